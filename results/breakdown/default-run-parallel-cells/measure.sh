cd /tmp/dr/clone
. /work/main/.venv/bin/activate
unset ECGBENCH_DATA
export ECGBENCH_CACHE=/tmp/dr/cache PYTHONPATH=/tmp/dr/clone
for spec in "cold:" "warm:" "warm2w:--workers 2"; do
  name=${spec%%:*}; opts=${spec#*:}
  s=$(date +%s.%N); python -m ecgbench run --all --run-id $name --results-dir runs $opts > /tmp/dr/$name.log 2>&1; rc=$?
  echo "$name rc=$rc $(echo "$(date +%s.%N) - $s" | bc) s" >> /tmp/dr/times.txt
done
