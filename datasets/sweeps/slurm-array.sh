#!/bin/bash
# A Slurm job array that spreads a migsched sweep over 16 tasks, one shard each.
# Submit from the repository root:   sbatch datasets/sweeps/slurm-array.sh SPEC.toml results/run1
# Then join the shards:              migsched sweep merge results/run1/shard-* -o results/run1/all
# Re-submitting resumes: finished cells in each shard directory are skipped.
#SBATCH --job-name=migsched-sweep
#SBATCH --array=1-16
#SBATCH --cpus-per-task=4
#SBATCH --time=02:00:00
set -euo pipefail
SPEC=${1:?usage: sbatch slurm-array.sh SPEC.toml OUTDIR}
OUT=${2:?usage: sbatch slurm-array.sh SPEC.toml OUTDIR}
N=${SLURM_ARRAY_TASK_COUNT:-16}
I=${SLURM_ARRAY_TASK_ID:?run under sbatch --array}
exec migsched sweep "$SPEC" --jobs "${SLURM_CPUS_PER_TASK:-1}" --shard "$I/$N" -o "$OUT/shard-$I"
