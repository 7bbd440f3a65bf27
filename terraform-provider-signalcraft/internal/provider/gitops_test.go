package provider

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// The GitOps example end to end: the provider built as a binary and installed from a filesystem mirror (as a CI
// would from a registry), the Terraform CLI from the cache, examples/gitops/ci/plan.sh and apply.sh run as CI runs
// them, against the local API. Exit codes: plan 2 (changes), apply 0, plan 0; a PR's change: plan 2, apply, plan 0.
func TestAccGitOpsWorkflow(t *testing.T) {
	skipUnlessAcc(t)
	work := t.TempDir()
	mirror := filepath.Join(work, "mirror", "registry.terraform.io", "signalcraft", "signalcraft", "0.1.0", runtime.GOOS+"_"+runtime.GOARCH)
	build := exec.Command("go", "build", "-o", filepath.Join(mirror, "terraform-provider-signalcraft_v0.1.0"), ".")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cliConfig := filepath.Join(work, "terraformrc")
	config := fmt.Sprintf("provider_installation {\n  filesystem_mirror {\n    path    = %q\n    include = [\"registry.terraform.io/signalcraft/*\"]\n  }\n}\n", filepath.Join(work, "mirror"))
	if err := os.WriteFile(cliConfig, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	repo := filepath.Join(work, "repo")
	source := filepath.Join("..", "..", "examples", "gitops")
	if err := filepath.WalkDir(source, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(source, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(repo, rel), 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		info, _ := d.Info()
		return os.WriteFile(filepath.Join(repo, rel), data, info.Mode().Perm())
	}); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(),
		"PATH="+filepath.Dir(os.Getenv("TF_ACC_TERRAFORM_PATH"))+string(os.PathListSeparator)+os.Getenv("PATH"),
		"TF_CLI_CONFIG_FILE="+cliConfig, "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1",
	)
	run := func(script string) (int, string) {
		cmd := exec.Command("bash", filepath.Join("ci", script), "monitoring-config")
		cmd.Dir, cmd.Env = repo, env
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		if exit, ok := err.(*exec.ExitError); ok {
			return exit.ExitCode(), out.String()
		}
		if err != nil {
			t.Fatalf("%s: %v", script, err)
		}
		return 0, out.String()
	}
	expect := func(script string, want int) string {
		t.Helper()
		code, out := run(script)
		if code != want {
			t.Fatalf("%s exited %d, want %d:\n%s", script, code, want, out)
		}
		return out
	}
	defer func() {
		destroy := exec.Command(filepath.Join(filepath.Dir(os.Getenv("TF_ACC_TERRAFORM_PATH")), "terraform"), "destroy", "-auto-approve", "-input=false", "-no-color")
		destroy.Dir, destroy.Env = filepath.Join(repo, "monitoring-config"), env
		if out, err := destroy.CombinedOutput(); err != nil {
			t.Errorf("terraform destroy: %v\n%s", err, out)
		}
	}()

	first := expect("plan.sh", 2)
	if !strings.Contains(first, "Plan: 8 to add, 0 to change, 0 to destroy.") {
		t.Fatalf("first plan:\n%s", first)
	}
	expect("apply.sh", 0)
	expect("plan.sh", 0)

	// the pull request: the routing rule moves up
	alerting := filepath.Join(repo, "monitoring-config", "alerting.tf")
	text, _ := os.ReadFile(alerting)
	if err := os.WriteFile(alerting, bytes.Replace(text, []byte("priority        = 20"), []byte("priority        = 5"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	review := expect("plan.sh", 2)
	if !strings.Contains(review, "Plan: 0 to add, 1 to change, 0 to destroy.") || !strings.Contains(review, "~ priority") {
		t.Fatalf("the PR's plan:\n%s", review)
	}
	expect("apply.sh", 0)
	expect("plan.sh", 0)
	rule, _ := envelope(t, "routing-rules", "database-alerts")
	if rule.Spec["priority"] != float64(5) || rule.Manager == nil || rule.Manager.Identity != "terraform://monitoring-config/prod" {
		t.Fatalf("SignalCraft has %v, manager %+v", rule.Spec["priority"], rule.Manager)
	}
}
