#!/usr/bin/env bash
# Retrains the bundled band model from ../shared/data in one command:
#   bash scripts/train_model.sh                  # CPU, about an hour (--minutes 60)
#   bash scripts/train_model.sh --device cuda --minutes 3.6 --batch-size 64 --lr 1.5e-3 \
#       --epoch-tokens 8000000 --val-crops 256 --dropout 0.3     # the bundled model (one H100)
# Builds jamd-prepare, writes the token files to build/corpus (POP909 paired with Groove drums:
# docs/vocabulary.md, "Drum pairing"), trains with models/train/train.py (extra arguments go to
# it) and copies band.jamd and band.json to models/. Several settings at once on one GPU:
# models/train/gpu_sweep.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
JAMD_TARGET=jamd-prepare bash scripts/build.sh >/dev/null
data=${JAMD_DATA:-../shared/data}
./build/models/data/jamd-prepare --data="$data" --work=build/corpus-work --out=build/corpus
/usr/bin/python3 models/train/train.py --data build/corpus --out build/model --preset small \
  --epoch-tokens 12000000 "$@"
cp build/model/band.jamd build/model/band.json models/
echo "trained model: models/band.jamd (manifest models/band.json)"
