#!/usr/bin/env python3
"""Golden chat prompts for src/text/chat.c: transformers' apply_chat_template(messages=[one
user message], add_generation_prompt=True, tokenize=False) for every template below and a set
of messages. Writes tests/fixtures/chat/cases.json: templates {name: {template, bos, supported}} and
cases [{name, message, want}].

Templates: SmolLM2-135M-Instruct's (read from its GGUF's tokenizer.chat_template), and the
model templates that llama.cpp ships in models/templates/ of llama-cpp-python 0.3.36's sdist
(Qwen2.5, Qwen3, Llama 3.1 / 3.3, Gemma 2, Mistral Nemo, Devstral: the last one gaze must
refuse), plus Llama 3 (3.0), Mistral 7B Instruct v0.1 and Gemma 3 written out below from their
tokenizer_config.json. Llama 3.2's template dates its prompt with strftime_now: its expected
prompt is written with the date of the run, which the test swaps for its own.

Usage (pins in requirements-chat.txt):
  python tests/reference/gen_chat_fixtures.py --templates DIR [--gguf SmolLM2.gguf]
"""
import argparse
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

LLAMA3_0 = ("{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
            "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + "
            "'<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}"
            "{{ content }}{% endfor %}{% if add_generation_prompt %}"
            "{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}")
MISTRAL_V01 = ("{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != "
               "(loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate "
               "user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}"
               "{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}"
               "{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and assistant "
               "roles are supported!') }}{% endif %}{% endfor %}")

# Gemma 3's template (google/gemma-3-*-it tokenizer_config.json; llama.cpp's models/templates has
# none for Gemma 3). The Gemma 3 GGUF gaze fetches carries no template, so gaze holds this text as
# its built-in template for arch gemma3 (src/text/chat.c; test_chat checks the two are equal).
GEMMA3 = (
    '{{ bos_token }}\n'
    "{%- if messages[0]['role'] == 'system' -%}\n"
    "    {%- if messages[0]['content'] is string -%}\n"
    "        {%- set first_user_prefix = messages[0]['content'] + '\\n\\n' -%}\n"
    '    {%- else -%}\n'
    "        {%- set first_user_prefix = messages[0]['content'][0]['text'] + '\\n\\n' -%}\n"
    '    {%- endif -%}\n'
    '    {%- set loop_messages = messages[1:] -%}\n'
    '{%- else -%}\n'
    '    {%- set first_user_prefix = "" -%}\n'
    '    {%- set loop_messages = messages -%}\n'
    '{%- endif -%}\n'
    '{%- for message in loop_messages -%}\n'
    "    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}\n"
    '        {{ raise_exception("Conversation roles must alternate user/assistant/user/assistant/...") }}\n'
    '    {%- endif -%}\n'
    "    {%- if (message['role'] == 'assistant') -%}\n"
    '        {%- set role = "model" -%}\n'
    '    {%- else -%}\n'
    "        {%- set role = message['role'] -%}\n"
    '    {%- endif -%}\n'
    '    {{ \'<start_of_turn>\' + role + \'\\n\' + (first_user_prefix if loop.first else "") }}\n'
    "    {%- if message['content'] is string -%}\n"
    "        {{ message['content'] | trim }}\n"
    "    {%- elif message['content'] is iterable -%}\n"
    "        {%- for item in message['content'] -%}\n"
    "            {%- if item['type'] == 'image' -%}\n"
    "                {{ '<start_of_image>' }}\n"
    "            {%- elif item['type'] == 'text' -%}\n"
    "                {{ item['text'] | trim }}\n"
    '            {%- endif -%}\n'
    '        {%- endfor -%}\n'
    '    {%- else -%}\n'
    '        {{ raise_exception("Invalid content type") }}\n'
    '    {%- endif -%}\n'
    "    {{ '<end_of_turn>\\n' }}\n"
    '{%- endfor -%}\n'
    '{%- if add_generation_prompt -%}\n'
    "    {{'<start_of_turn>model\\n'}}\n"
    '{%- endif -%}\n')

FILES = [  # (name, file in models/templates, bos, eos)
    ("qwen2.5", "Qwen-Qwen2.5-7B-Instruct.jinja", None, "<|im_end|>"),
    ("qwen3", "Qwen-Qwen3-0.6B.jinja", None, "<|im_end|>"),
    ("llama3.1", "meta-llama-Llama-3.1-8B-Instruct.jinja", "<|begin_of_text|>", "<|eot_id|>"),
    ("llama3.2", "meta-llama-Llama-3.2-3B-Instruct.jinja", "<|begin_of_text|>", "<|eot_id|>"),
    ("llama3.3", "meta-llama-Llama-3.3-70B-Instruct.jinja", "<|begin_of_text|>", "<|eot_id|>"),
    ("gemma2", "google-gemma-2-2b-it.jinja", "<bos>", "<eos>"),
    ("mistral-nemo", "mistralai-Mistral-Nemo-Instruct-2407.jinja", "<s>", "</s>"),
    ("devstral", "unsloth-mistral-Devstral-Small-2507.jinja", "<s>", "</s>"),
]

MESSAGES = ["Hello!", "What is 2 + 2?", "  padded with spaces  ", "\nnewlines around\n\n",
            "Unicode: 你好, مرحبا, 😀", "multi\nline\n  message", "tabs\tinside", "\u3000ideographic space\u3000"]


def render(template, bos, eos, message):
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast
    tok = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.BPE()), bos_token=bos, eos_token=eos)
    tok.chat_template = template
    return tok.apply_chat_template([{"role": "user", "content": message}], add_generation_prompt=True, tokenize=False)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--templates", required=True, help="llama.cpp models/templates folder")
    ap.add_argument("--gguf", default=os.path.expanduser("~/.cache/gaze/models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "fixtures", "chat", "cases.json"))
    a = ap.parse_args()
    import gguf
    r = gguf.GGUFReader(a.gguf)
    f = r.fields["tokenizer.chat_template"]
    smol = bytes(f.parts[f.data[0]]).decode()
    tmpls = [("smollm2", smol, None, "<|im_end|>"), ("llama3", LLAMA3_0, "<|begin_of_text|>", "<|eot_id|>"),
             ("mistral-v0.1", MISTRAL_V01, "<s>", "</s>"), ("gemma3", GEMMA3, "<bos>", "<eos>")]
    for name, fn, bos, eos in FILES:
        tmpls.append((name, open(os.path.join(a.templates, fn)).read(), bos, eos))
    cases = []
    templates = {}
    for name, t, bos, eos in tmpls:
        templates[name] = {"template": t, "bos": bos or "", "supported": name != "devstral"}
        for m in MESSAGES:
            try:
                want = render(t, bos, eos, m)
            except Exception as e:  # noqa: BLE001
                want = None
                print(name, "raised", e)
            cases.append({"name": name, "message": m, "want": want})
    import transformers
    json.dump({"generator": "tests/reference/gen_chat_fixtures.py", "transformers": transformers.__version__,
               "templates": templates, "cases": cases}, open(a.out, "w"), ensure_ascii=False, indent=0)
    print(len(cases), "cases")


if __name__ == "__main__":
    main()
