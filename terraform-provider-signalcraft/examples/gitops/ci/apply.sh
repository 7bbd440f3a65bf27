#!/usr/bin/env bash
# Merge to main: apply the merged code. Terraform plans again against what is live now, so a change made outside
# Terraform since the pull request's plan is set back to the code; a write racing this apply between its refresh
# and its update is refused (412, the version it read is stale) rather than overwritten, and an object another
# manager (the operator) owns is never taken over (409).
set -euo pipefail
cd "${1:-monitoring-config}"
terraform init -input=false -no-color >/dev/null
terraform apply -input=false -no-color -auto-approve
