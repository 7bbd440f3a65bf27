#!/usr/bin/env bash
# Builds the Terraform CLI the provider's acceptance tests run against, from the Go module proxy, once per version,
# into ~/.cache/signalcraft/terraform-<version>/bin. v1.5.7 is the last MPL-licensed release; a `terraform` that happens
# to be on PATH is never used. Prints the binary's path.
set -euo pipefail
version="${TERRAFORM_VERSION:-v1.5.7}"
cache="${SIGNALCRAFT_CACHE:-$HOME/.cache/signalcraft}"
bin="$cache/terraform-$version/bin/terraform"
mkdir -p "$cache/locks" "$cache/terraform-$version/bin"
exec 9>"$cache/locks/terraform-$version.lock"
flock 9
# (output captured first: `| grep -q` could end the pipe early, and pipefail would take that SIGPIPE for a mismatch)
built="$(CHECKPOINT_DISABLE=1 "$bin" version 2>/dev/null | head -n 1 || true)"
if [[ "$built" != "Terraform ${version}" ]]; then
  echo "building terraform $version (first time only, a few minutes)" >&2
  # A module-mode build of a single package: go.mod/go.sum of the caller play no part.
  (cd "$cache/terraform-$version" && GOFLAGS=-mod=mod GOBIN="$cache/terraform-$version/bin.tmp" \
     go install "github.com/hashicorp/terraform@$version")
  mv -f "$cache/terraform-$version/bin.tmp/terraform" "$bin"
  rmdir "$cache/terraform-$version/bin.tmp"
fi
echo "$bin"
