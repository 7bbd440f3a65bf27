//go:build tools

// Package tools pins the documentation generator in go.mod, so `go run` builds the same tfplugindocs everywhere.
package tools

import (
	_ "github.com/hashicorp/terraform-plugin-docs/cmd/tfplugindocs"
)
