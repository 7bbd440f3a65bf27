package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
)

// The acceptance tests run against the real API server: `signalcraft api` on a fresh SQLite file and a free loopback
// port, started once for the package (TF_ACC=1), with the provider served in-process over protocol 6 and the
// Terraform CLI that `make test` builds into the cache (TF_ACC_TERRAFORM_PATH; never one found on PATH).

const testIdentity = "terraform://acceptance"

var api *apiServer

type apiServer struct {
	URL     string
	Key     string
	process *exec.Cmd
	dir     string
}

func repoRoot() string {
	wd, _ := os.Getwd()
	return filepath.Clean(filepath.Join(wd, "..", "..", ".."))
}

func signalcraftBinary() string {
	if bin := os.Getenv("SIGNALCRAFT_BIN"); bin != "" {
		return bin
	}
	return filepath.Join(repoRoot(), ".venv", "bin", "signalcraft")
}

func freePort() (int, error) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer listener.Close()
	return listener.Addr().(*net.TCPAddr).Port, nil
}

// startAPI runs `signalcraft api` with extra flags; the caller stops it.
func startAPI(extra ...string) (*apiServer, error) {
	dir, err := os.MkdirTemp("", "signalcraft-tfacc-")
	if err != nil {
		return nil, err
	}
	db := filepath.Join(dir, "signalcraft.db")
	out, err := exec.Command(signalcraftBinary(), "api", "bootstrap", "--db", db).Output()
	if err != nil {
		return nil, fmt.Errorf("signalcraft api bootstrap (%s): %w", signalcraftBinary(), err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	log, err := os.Create(filepath.Join(dir, "api.log"))
	if err != nil {
		return nil, err
	}
	args := append([]string{"api", "--db", db, "--host", "127.0.0.1", "--port", fmt.Sprint(port)}, extra...)
	cmd := exec.Command(signalcraftBinary(), args...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	server := &apiServer{URL: fmt.Sprintf("http://127.0.0.1:%d", port), Key: lines[len(lines)-1], process: cmd, dir: dir}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(server.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return server, nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	server.stop()
	logged, _ := os.ReadFile(filepath.Join(dir, "api.log"))
	return nil, fmt.Errorf("the API server did not answer /healthz:\n%s", logged)
}

func (s *apiServer) stop() {
	if s.process != nil && s.process.Process != nil {
		_ = s.process.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- s.process.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = s.process.Process.Kill()
			<-done
		}
	}
	_ = os.RemoveAll(s.dir)
}

func TestMain(m *testing.M) {
	if os.Getenv("TF_ACC") == "" {
		os.Exit(m.Run())
	}
	if os.Getenv("TF_ACC_TERRAFORM_PATH") == "" {
		fmt.Fprintln(os.Stderr, "TF_ACC=1 needs TF_ACC_TERRAFORM_PATH: the Terraform CLI v1.5.7 built by tools/terraform-cli.sh (make test does it)")
		os.Exit(1)
	}
	os.Setenv("CHECKPOINT_DISABLE", "1")
	// A CLI configuration of our own: no dev_overrides or credentials of whoever runs the tests take part.
	cliConfig, err := os.CreateTemp("", "terraformrc-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cliConfig.Close()
	os.Setenv("TF_CLI_CONFIG_FILE", cliConfig.Name())
	server, err := startAPI()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	api = server
	os.Setenv("SIGNALCRAFT_API_URL", server.URL)
	os.Setenv("SIGNALCRAFT_API_KEY", server.Key)
	os.Setenv("SIGNALCRAFT_MANAGER_IDENTITY", testIdentity)
	code := m.Run()
	server.stop()
	os.Remove(cliConfig.Name())
	os.Exit(code)
}

var providerFactories = map[string]func() (tfprotov6.ProviderServer, error){
	"signalcraft": providerserver.NewProtocol6WithError(New("test")()),
}

// call sends a request to the test API as an administrator (outside Terraform) and decodes the answer.
func call(t *testing.T, method, path string, body any, out any) int {
	t.Helper()
	var payload io.Reader
	if body != nil {
		blob, _ := json.Marshal(body)
		payload = bytes.NewReader(blob)
	}
	req, _ := http.NewRequestWithContext(context.Background(), method, api.URL+path, payload)
	req.Header.Set("Authorization", "Bearer "+api.Key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && len(data) > 0 && resp.StatusCode < 400 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, data)
		}
	}
	return resp.StatusCode
}

// envelope reads an object as the API has it.
func envelope(t *testing.T, collection, key string) (Envelope, int) {
	t.Helper()
	var env Envelope
	path := "/v1/" + collection + "/" + key
	if collection == "workspace" {
		path = "/v1/workspace"
	}
	status := call(t, http.MethodGet, path, nil, &env)
	return env, status
}

// changeOutside rewrites an object's spec the way a person in the UI (editing under the same manager) would.
func changeOutside(t *testing.T, collection, key string, mutate func(spec map[string]any)) {
	t.Helper()
	env, status := envelope(t, collection, key)
	if status != 200 {
		t.Fatalf("GET %s/%s: %d", collection, key, status)
	}
	mutate(env.Spec)
	body := map[string]any{"spec": env.Spec, "labels": env.Labels, "display_name": env.DisplayName, "description": env.Description, "manager": env.Manager}
	path := "/v1/" + collection + "/" + key
	if collection == "workspace" {
		path = "/v1/workspace"
	}
	var out map[string]any
	if status := call(t, http.MethodPut, path, body, &out); status != 200 {
		t.Fatalf("changing %s outside Terraform: %d %v", path, status, out)
	}
}

// deleteOutside deletes an object as its manager could, behind Terraform's back.
func deleteOutside(t *testing.T, collection, key string) {
	t.Helper()
	path := "/v1/" + collection + "/" + key + "?manager_identity=" + url.QueryEscape(testIdentity)
	var out map[string]any
	if status := call(t, http.MethodDelete, path, nil, &out); status != 204 {
		t.Fatalf("deleting %s/%s outside Terraform: %d %v", collection, key, status, out)
	}
}

func skipUnlessAcc(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1 (make test does)")
	}
}

func unique(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano()%1_000_000_000)
}
