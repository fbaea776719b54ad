#!/usr/bin/env python3
"""Prints the C range tables of src/text/wordpiece.c that correct utf8proc's Unicode categories
to those HF `tokenizers` uses (its `unicode_categories` crate has older tables).

Every code point is pushed through tokenizers' own BertNormalizer / BertPreTokenizer and the
answer is compared with utf8proc's category. Needs the pinned peers of requirements-bert.txt
(tokenizers) and a C compiler with libutf8proc:  python3 tests/reference/gen_wordpiece_tables.py
"""
import os, subprocess, tempfile, unicodedata
from tokenizers import normalizers, pre_tokenizers

C_SRC = r'''
#include <stdio.h>
#include <utf8proc.h>
int main(void) { for (int c = 0; c < 0x110000; c++) printf("%s\n", utf8proc_category_string(c));
                 return 0; }
'''

def utf8proc_categories():
    with tempfile.TemporaryDirectory() as d:
        src, exe = os.path.join(d, "c.c"), os.path.join(d, "c")
        open(src, "w").write(C_SRC)
        subprocess.run(["cc", "-O1", src, "-lutf8proc", "-o", exe], check=True)
        return subprocess.run([exe], check=True, capture_output=True, text=True).stdout.split()

def main():
    cat = utf8proc_categories()
    clean = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=False,
                                       strip_accents=False, lowercase=False)
    strip = normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=False,
                                       strip_accents=True, lowercase=False)
    pre = pre_tokenizers.BertPreTokenizer()
    tables = {k: [] for k in ("not_punct", "old_punct", "not_format", "not_mn", "old_mn")}
    for c in range(0x110000):
        if 0xD800 <= c <= 0xDFFF or c < 128:
            continue
        ch, k = chr(c), cat[c]
        removed = clean.normalize_str("a" + ch + "b") == "ab"
        spaced = clean.normalize_str("a" + ch + "b") == "a b"
        punct = [p for p, _ in pre.pre_tokenize_str("a" + ch + "b")] == ["a", ch, "b"]
        if k.startswith("P") and not punct and not removed and not spaced:
            tables["not_punct"].append(c)
        if punct and not k.startswith("P"):
            tables["old_punct"].append(c)
        if k == "Cf" and not removed:
            tables["not_format"].append(c)
        if removed and k not in ("Cc", "Cf", "Co") and c != 0xFFFD:
            raise SystemExit(f"U+{c:04X} ({k}) removed by clean_text: extend wp_is_control")
        if unicodedata.normalize("NFD", ch) == ch:   # a mark on its own: stripped or not
            hf_mn = strip.normalize_str("a" + ch) == "a"
            if k == "Mn" and not hf_mn:
                tables["not_mn"].append(c)
            if hf_mn and k != "Mn":
                tables["old_mn"].append(c)
    for name, cs in tables.items():
        ranges = []
        for c in cs:
            if ranges and ranges[-1][1] == c - 1:
                ranges[-1][1] = c
            else:
                ranges.append([c, c])
        print(f"static const struct wp_range wp_{name}[] = {{")
        line = "   "
        for a, b in ranges:
            item = f" {{ 0x{a:X}, 0x{b:X} }},"
            if len(line) + len(item) > 100:
                print(line)
                line = "   "
            line += item
        print(line)
        print("};")

if __name__ == "__main__":
    main()
