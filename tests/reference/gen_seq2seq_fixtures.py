"""Tiny random encoder-decoder models (T5 v1.1 gated-gelu, T5 v1.0 relu, BART, Marian) and their
transformers golden outputs, for tests/test_seq2seq_golden.c.

Run with /work/venv-peers/bin/python (pins: gen_seq2seq_fixtures.requirements.txt). Each model is
saved with save_pretrained (safetensors) under tests/fixtures/seq2seq/<family>/, beside
golden.safetensors:
  src_ids [Ts] int64           the source ids (given directly: no tokenizer involved)
  out_ids [Tt] int64           generate(num_beams=1, do_sample=False, max_new_tokens=8), with the
                               decoder start token first
  enc_attn [Le, H, Ts, Ts]     encoder self-attention   \
  dec_attn [Ld, H, Tt, Tt]     decoder self-attention    } eager output_attentions on the
  cross_attn [Ld, H, Tt, Ts]   cross-attention          /  teacher-forced out_ids
  logits [Tt, V]               the teacher-forced logits
With --beams: only beam.safetensors of each folder (see beams()), the models read back.
"""
import os
import numpy as np
import torch
from safetensors.torch import load_file, save_file
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import (BartConfig, BartForConditionalGeneration, MarianConfig, MarianMTModel, T5Config,
                          T5ForConditionalGeneration)

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "seq2seq")
V = 96
# t5 and bart get a tokenizer.json trained here (T5: Unigram + Metaspace, "$A </s>"; BART: byte-level
# BPE, RobertaProcessing) and their source ids are TEXT's; t5_relu and marian take random ids.
# Generation settings exercised: BART forced BOS/EOS, no_repeat_ngram_size, min_length; Marian
# bad_words_ids (its pad, as the real ones, and a token it would repeat); t5_relu repetition_penalty.
TEXT = "the quick brown fox jumps over the lazy dog near the river bank"
CORPUS = [
    "the quick brown fox jumps over the lazy dog",
    "a lazy dog sleeps near the river bank all day",
    "brown bears fish in the river and the fox watches",
    "quick thinking saves the day near the old bank",
    "over the hills and far away the river runs quick and brown",
] * 4


def t5_tokenizer():
    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    tok.train_from_iterator(CORPUS, trainers.UnigramTrainer(vocab_size=90, special_tokens=["<pad>", "</s>", "<unk>"],
                                                            unk_token="<unk>"))
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    return tok


def bart_tokenizer():
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(CORPUS, trainers.BpeTrainer(vocab_size=300, special_tokens=["<s>", "<pad>", "</s>", "<unk>"],
                                                        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok.post_processor = processors.RobertaProcessing(sep=("</s>", 2), cls=("<s>", 0))
    return tok


def t5(gated):
    return T5ForConditionalGeneration(T5Config(
        vocab_size=V, d_model=32, d_kv=8, d_ff=48, num_layers=2, num_decoder_layers=3, num_heads=4,
        relative_attention_num_buckets=16, relative_attention_max_distance=20,
        feed_forward_proj="gated-gelu" if gated else "relu", tie_word_embeddings=not gated,
        decoder_start_token_id=0, pad_token_id=0, eos_token_id=1, repetition_penalty=None if gated else 1.5))


def bart():
    return BartForConditionalGeneration(BartConfig(
        vocab_size=320, d_model=32, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4,
        decoder_attention_heads=2, encoder_ffn_dim=48, decoder_ffn_dim=40, max_position_embeddings=64,
        scale_embedding=True, init_std=0.1, pad_token_id=1, bos_token_id=0, eos_token_id=2, decoder_start_token_id=2,
        forced_bos_token_id=0, forced_eos_token_id=2, no_repeat_ngram_size=2, min_length=6))


def marian():
    return MarianMTModel(MarianConfig(
        vocab_size=V, decoder_vocab_size=V, d_model=32, encoder_layers=2, decoder_layers=2,
        encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=48, decoder_ffn_dim=48,
        max_position_embeddings=64, activation_function="swish", scale_embedding=True, init_std=0.1, pad_token_id=V - 1,
        eos_token_id=0, decoder_start_token_id=V - 1, forced_eos_token_id=0, bad_words_ids=[[V - 1], [56]]))


def main():
    torch.manual_seed(0)
    for name, make, tokenizer in (("t5", lambda: t5(True), t5_tokenizer), ("t5_relu", lambda: t5(False), None),
                                  ("bart", bart, bart_tokenizer), ("marian", marian, None)):
        torch.manual_seed(1234)
        model = make().eval()
        with torch.no_grad():   # sharpen the attention (random init leaves it near uniform)
            for n, p in model.named_parameters():
                if any(k in n for k in (".q.", ".k.", "q_proj", "k_proj", "relative_attention_bias")):
                    p.mul_(1.5 if name == "t5" else 3.0)   # the gated T5 gets ill-conditioned at 3
        model.config._attn_implementation = "eager"
        folder = os.path.join(ROOT, name)
        os.makedirs(folder, exist_ok=True)
        model.save_pretrained(folder, safe_serialization=True)
        g = torch.Generator().manual_seed(7)
        src = torch.randint(3, V - 2, (1, 23), generator=g)
        if tokenizer:
            tok = tokenizer()
            assert tok.get_vocab_size() <= model.config.vocab_size
            tok.save(os.path.join(folder, "tokenizer.json"))
            src = torch.tensor([tok.encode(TEXT).ids])
        with torch.no_grad():
            out = model.generate(input_ids=src, num_beams=1, do_sample=False, max_new_tokens=8)
            r = model(input_ids=src, decoder_input_ids=out, output_attentions=True)
        golden = {
            "src_ids": src[0].clone(),
            "out_ids": out[0].clone(),
            "enc_attn": torch.cat(r.encoder_attentions, 0).contiguous(),
            "dec_attn": torch.cat(r.decoder_attentions, 0).contiguous(),
            "cross_attn": torch.cat(r.cross_attentions, 0).contiguous(),
            "logits": r.logits[0].contiguous(),
        }
        save_file(golden, os.path.join(folder, "golden.safetensors"))
        try:   # the fixture's conditioning: transformers' own f32 error against f64
            with torch.no_grad():
                r64 = model.double()(input_ids=src, decoder_input_ids=out, output_attentions=True)
        except RuntimeError as e:   # BART's causal mask in float64 overflows in 4.46
            print(name, "f32 vs f64: not available:", e)
            continue
        err = lambda a, b: max((x.double() - y).abs().max().item() for x, y in zip(a, b))
        print(name, "f32 vs f64: encoder %.1e decoder %.1e cross %.1e logits %.1e" % (
            err(r.encoder_attentions, r64.encoder_attentions), err(r.decoder_attentions, r64.decoder_attentions),
            err(r.cross_attentions, r64.cross_attentions), err([r.logits], [r64.logits])))
        print(name, "src", src[0].tolist(), "out", out[0].tolist())


# Beam search goldens (--beams): the committed models above, loaded back (not regenerated), each
# with beam.safetensors: case<k>.cfg float64 [num_beams, length_penalty, early_stopping (0 False,
# 1 True, 2 "never"), max_new_tokens], case<k>.src / case<k>.out int64 (source, generate()'s
# sequence), case<k>.enc / .dec / .cross float32: eager output_attentions of the teacher-forced
# winner (what gaze captures by rerunning it). Cases: the golden source and two random ones, widths
# 2..5, the folder's length_penalty / early_stopping (1.0, False) and overrides.
BEAM_CASES = [(2, 1.0, False), (3, 1.0, False), (4, 0.6, True), (5, 2.0, "never"), (3, -0.5, False), (4, 1.0, "never")]


def beams():
    for name in ("t5", "t5_relu", "bart", "marian"):
        folder = os.path.join(ROOT, name)
        cls = {"t5": T5ForConditionalGeneration, "t5_relu": T5ForConditionalGeneration,
               "bart": BartForConditionalGeneration, "marian": MarianMTModel}[name]
        model = cls.from_pretrained(folder, attn_implementation="eager").eval()
        base = load_file(os.path.join(folder, "golden.safetensors"))["src_ids"].view(1, -1)
        g = torch.Generator().manual_seed(11)
        srcs = [base, torch.randint(3, V - 2, (1, 9), generator=g), torch.randint(3, V - 2, (1, 31), generator=g)]
        out = {}
        k = 0
        for si, src in enumerate(srcs):
            for ci, (nb, lp, es) in enumerate(BEAM_CASES):
                if (si + ci) % 2:   # half the grid: every width and setting on two sources
                    continue
                with torch.no_grad():
                    seq = model.generate(input_ids=src, num_beams=nb, do_sample=False, max_new_tokens=8,
                                         length_penalty=lp, early_stopping=es)
                    greedy = model.generate(input_ids=src, num_beams=1, do_sample=False, max_new_tokens=8)
                    r = model(input_ids=src, decoder_input_ids=seq, output_attentions=True)
                esv = {False: 0, True: 1, "never": 2}[es]
                out["case%d.cfg" % k] = torch.tensor([nb, lp, esv, 8], dtype=torch.float64)
                out["case%d.src" % k] = src[0].clone()
                out["case%d.out" % k] = seq[0].clone()
                out["case%d.enc" % k] = torch.cat(r.encoder_attentions, 0).contiguous()
                out["case%d.dec" % k] = torch.cat(r.decoder_attentions, 0).contiguous()
                out["case%d.cross" % k] = torch.cat(r.cross_attentions, 0).contiguous()
                print(name, k, "beams", nb, lp, es, "out", seq[0].tolist(),
                      "(greedy differs)" if greedy[0].tolist() != seq[0].tolist() else "(= greedy)")
                k += 1
        save_file(out, os.path.join(folder, "beam.safetensors"))


if __name__ == "__main__":
    import sys
    if sys.argv[1:] == ["--beams"]:
        beams()
    else:
        main()
