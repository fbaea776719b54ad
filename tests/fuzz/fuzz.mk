# libFuzzer build of libgaze and every tests/fuzz/fuzz_*.c target (driven by scripts/fuzz).
#   make -f tests/fuzz/fuzz.mk B=build-fuzz -j2
# The library is compiled once into $(B)/obj (incremental through -MMD dependency files) and
# archived; each target links against it. clang only: -fsanitize=fuzzer needs libFuzzer
# (Debian: clang-14, libclang-rt-14-dev), OpenMP needs libomp (libomp-14-dev) and fuzz_render
# parses HTML and SVG with libxml2 (libxml2-dev).
B       ?= build-fuzz
CC      := clang
SRC     := src
PKGS    := jansson libutf8proc libpcre2-8 cairo pangocairo libpng libjpeg libxml-2.0   # libxml2: fuzz_render parses HTML and SVG
PKG_CF  := $(shell pkg-config --cflags $(PKGS))
PKG_LD  := $(shell pkg-config --libs $(PKGS))
ROOT    := $(abspath .)

# -O1 -g as OSS-Fuzz builds; sanitizers never recover so every report stops the run.
SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
CFLAGS  := -std=gnu11 -g -O1 -fopenmp -fno-math-errno -Wall -Wextra -Wno-unused-parameter \
           -Iinclude -Isrc $(PKG_CF) -DGAZE_SOURCE_DIR='"$(ROOT)"' $(SAN)
LIB_CF  := $(CFLAGS) -fsanitize=fuzzer-no-link -DPCRE2_CODE_UNIT_WIDTH=8
ISA512  := -mavx512f -mavx512bw -mavx512dq -mavx512vl -mavx2 -mfma -mf16c
ISA2    := -mavx2 -mfma -mf16c

LIB_SRCS := $(shell find $(SRC) -name '*.c' | sort)
LIB_OBJS := $(patsubst %.c,$(B)/obj/%.o,$(LIB_SRCS))
TARGETS  := $(patsubst tests/fuzz/%.c,$(B)/%,$(sort $(wildcard tests/fuzz/fuzz_*.c)))

.PHONY: all lib
all: $(TARGETS)
lib: $(B)/libgaze_fuzz.a

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(LIB_CF) $(if $(findstring _avx512.c,$<),$(ISA512),$(if $(findstring _avx2.c,$<),$(ISA2))) \
	    -MMD -MP -c $< -o $@

$(B)/libgaze_fuzz.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(B)/%: tests/fuzz/%.c tests/fuzz/fuzz_common.h $(B)/libgaze_fuzz.a
	$(CC) $(CFLAGS) -fsanitize=fuzzer -Itests/fuzz -MMD -MP -MF $(B)/$*.d $< $(B)/libgaze_fuzz.a \
	    $(PKG_LD) -lm -o $@

-include $(LIB_OBJS:.o=.d) $(TARGETS:=.d)
