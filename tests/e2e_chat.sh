#!/usr/bin/env bash
# gaze run --chat: SmolLM2's prompt wrapped in its own ChatML template (default system message,
# <|im_start|>/<|im_end|> parsed as single control tokens, the assistant turn opened), said on
# stderr; refused on an encoder. A gemma3 GGUF without a template (the tiny fixture twin) gets
# gaze's built-in Gemma 3 template, and says so.
set -u
. "$(dirname "$0")/lib/e2e.sh"
e2e_init e2e_chat
e2e_need_bin
e2e_need_model smollm2 minilm

out=$("$BIN" run "$MODELS/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" "What is 2 + 2?" --chat 2>"$tmp/err")
rc=$?
check '[ $rc -eq 0 ]' "run --chat exited $rc: $(cat "$tmp/err")"
check 'grep -q "chatml chat template" "$tmp/err"' "run --chat does not say which template it used: $(cat "$tmp/err")"
# the token line: <|im_start|> is one token, the default system message, then the user turn
toks=$(printf '%s\n' "$out" | sed -n 2p)
check '[[ "$toks" == "  <|im_start|> system \n You  are  a  helpful  AI  assistant  named  Sm ol LM ,  trained  by  H ugging  Face <|im_end|> \n <|im_start|> user \n What  is  "* ]]' "chat prompt tokens: $toks"
check '[[ "$toks" == *"? <|im_end|> \n <|im_start|> ass istant \n" ]]' "chat prompt does not open the assistant turn: $toks"
check 'printf "%s\n" "$out" | head -1 | grep -q ": 38 tokens"' "chat prompt is not 38 tokens (llama.cpp gives 38): $(printf '%s\n' "$out" | head -1)"
# without --chat the text is the prompt as given
plain=$("$BIN" run "$MODELS/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" "What is 2 + 2?" 2>/dev/null | sed -n 2p)
check '[[ "$plain" != *"im_start"* ]]' "plain run has chat tokens: $plain"
# an encoder has no chat format
"$BIN" run "$MODELS/minilm" "hello" --chat >/dev/null 2>"$tmp/err2"
rc=$?
check '[ $rc -eq 2 ] && grep -q "chat is for decoders" "$tmp/err2"' "--chat on an encoder: rc $rc, $(cat "$tmp/err2")"
# gemma3 GGUF without tokenizer.chat_template: the built-in Gemma 3 template, announced
g3="$GAZE_SOURCE_DIR/tests/fixtures/decoders_gguf/gemma3_text.gguf"
"$BIN" run "$g3" "hi" --chat >"$tmp/g3out" 2>"$tmp/err3"
rc=$?
check '[ $rc -eq 0 ] && grep -q "no chat template; the text wrapped as a user message in gaze.s built-in gemma template" "$tmp/err3"' \
      "--chat on a gemma3 GGUF without a template: rc $rc, $(cat "$tmp/err3")"
e2e_finish
