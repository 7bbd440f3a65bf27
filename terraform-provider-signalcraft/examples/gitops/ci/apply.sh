#!/usr/bin/env bash
# Merge to main: apply. SignalCraft changes at once; a change made outside Terraform since the plan is refused
# (412), and an object another manager (the operator) owns is never taken over (409).
set -euo pipefail
cd "${1:-monitoring-config}"
terraform init -input=false -no-color >/dev/null
terraform apply -input=false -no-color -auto-approve
