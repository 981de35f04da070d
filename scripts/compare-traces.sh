#!/bin/sh
# Replay every conformance trace of a folder (iova, pgtable, fq515, 612/iova, 612/pgtable;
# default iova) and compare with the kernel's output: prints one line per trace and a
# summary; exits 1 if any differs. The profile comes from the trace's name (NAME.612.out,
# iova515_…: the digits are the version without its dot). Traces in a profile's own folder
# (612/) carry that driver's CMD encoding; the others were encoded with the v5.15 rules.
# usage: scripts/compare-traces.sh [folder] [conformance dir]
folder=${1:-iova}
root=${2:-${IOMMU_SIM_CONFORMANCE:-$(dirname "$0")/../../shared/conformance}}
dotted() { d=$1; rest=${d#?}; echo "${d%"$rest"}.$rest"; }
top=${folder%%/*}
case "$top" in
  [0-9]*) rules=$(dotted "$top") ;;
  *) rules=5.15 ;;
esac
pass=0; fail=0
for out in "$root/$folder"/*.out; do
  stem=$(basename "$out" .out)
  case "$stem" in
    *.[0-9]*) in="${stem%.*}"; digits="${stem##*.}" ;;
    *) in="$stem"; digits=$(echo "$stem" | sed -n 's/^[a-z]*\([0-9][0-9]*\)_.*/\1/p') ;;
  esac
  if [ -z "$digits" ]; then echo "?? $stem: cannot tell the profile"; fail=$((fail+1)); continue; fi
  profile=$(dotted "$digits")
  res=$(node "$(dirname "$0")/../dist/cli.js" replay "$root/$folder/$in.in" --profile "$profile" --cmd-rules "$rules" --compare "$out" 2>&1)
  if [ $? -eq 0 ]; then pass=$((pass+1)); echo "ok   $stem [$profile]"
  else fail=$((fail+1)); echo "FAIL $stem [$profile]"; echo "$res" | sed 's/^/     /' | head -5; fi
done
echo "$pass identical, $fail different"
[ $fail -eq 0 ]
