#!/bin/sh
# Replay every conformance trace of a folder (iova, pgtable, fq515; default iova) and compare with the kernel's
# output: prints one line per trace and a summary; exits 1 if any differs.
# usage: scripts/compare-traces.sh [folder] [conformance dir]
folder=${1:-iova}
root=${2:-${IOMMU_SIM_CONFORMANCE:-$(dirname "$0")/../../shared/conformance}}
pass=0; fail=0
for out in "$root/$folder"/*.out; do
  stem=$(basename "$out" .out)
  case "$stem" in
    *.515) in="${stem%.515}"; profile=5.15 ;;
    *.71) in="${stem%.71}"; profile=7.1 ;;
    *515_*) in="$stem"; profile=5.15 ;;
    *71_*) in="$stem"; profile=7.1 ;;
    *) echo "?? $stem: cannot tell the profile"; fail=$((fail+1)); continue ;;
  esac
  # The kernel-code harness encoded CMD lines with the v5.15 driver rules for both profiles.
  res=$(node "$(dirname "$0")/../dist/cli.js" replay "$root/$folder/$in.in" --profile "$profile" --cmd-rules 5.15 --compare "$out" 2>&1)
  if [ $? -eq 0 ]; then pass=$((pass+1)); echo "ok   $stem [$profile]"
  else fail=$((fail+1)); echo "FAIL $stem [$profile]"; echo "$res" | sed 's/^/     /' | head -5; fi
done
echo "$pass identical, $fail different"
[ $fail -eq 0 ]
