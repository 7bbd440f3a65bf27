#!/usr/bin/env bash
# Pull request: show what would change. Exit code (terraform plan -detailed-exitcode): 0 = no changes, 2 = changes
# (the plan is in tfplan and its text in plan.txt, for the review comment), anything else = an error.
set -uo pipefail
cd "${1:-monitoring-config}"
terraform init -input=false -no-color >/dev/null || exit 1
terraform plan -input=false -no-color -detailed-exitcode -out=tfplan >plan.txt
status=$?
cat plan.txt
exit "$status"
