#!/bin/bash
# Trains the tiny T5 SentencePiece unigram model checked in as tools/reference/t5-tiny-spiece.model.
# Runs on the development machine (Debian's `sentencepiece` package: spm_train 0.1.97), not on the GPU
# machine: the .model file is committed, and the fixture generators copy it into the pipelines.
# T5's special ids: <pad>=0, </s>=1, <unk>=2, no BOS; nmt_nfkc normaliser (T5's default); the 100
# <extra_id_N> sentinels are NOT in the .model: transformers' T5 tokenizers append them (extra_ids=100)
# at ids 1000..1099 (<extra_id_0> = 1099), as the real T5 vocabulary (32000 + 100, embedding 32128).
# Usage: bash tools/reference/make_t5_spm.sh   (from the repository root)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
python3 "$here/t5_corpus.py" "$tmp/corpus.txt"
spm_train --input="$tmp/corpus.txt" --model_prefix="$tmp/spiece" --model_type=unigram --vocab_size=1000 \
  --pad_id=0 --eos_id=1 --unk_id=2 --bos_id=-1 --pad_piece='<pad>' --eos_piece='</s>' --unk_piece='<unk>' \
  --normalization_rule_name=nmt_nfkc --character_coverage=0.9995 --num_threads=1 --random_seed=1234 \
  --hard_vocab_limit=true
cp "$tmp/spiece.model" "$here/t5-tiny-spiece.model"
spm_export_vocab --model="$here/t5-tiny-spiece.model" --output="$tmp/vocab.txt"
echo "pieces: $(wc -l < "$tmp/vocab.txt"); first: $(head -5 "$tmp/vocab.txt" | cut -f1 | tr '\n' ' ')"
rm -rf "$tmp"
