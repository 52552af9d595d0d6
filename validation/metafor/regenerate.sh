#!/usr/bin/env bash
# Regenerate the pinned metafor values (needs R with metafor and metadat: apt-get install r-cran-metafor r-cran-metadat).
set -euo pipefail
cd "$(dirname "$0")/../.."
Rscript validation/metafor/run_metafor.R
Rscript validation/metafor/run_metafor_extras.R
git diff --stat tests/data/ || true
