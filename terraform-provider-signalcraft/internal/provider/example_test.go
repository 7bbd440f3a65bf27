package provider

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
)

// The plan's example, verbatim (the escalation policy block exactly as the SignalCraft plan shows it), with the
// schedule it names: it applies, and a second plan is empty.
func TestAccThePlansExampleAppliesAsWritten(t *testing.T) {
	skipUnlessAcc(t)
	example, err := os.ReadFile(filepath.Join("..", "..", "examples", "plan-example", "main.tf"))
	if err != nil {
		t.Fatal(err)
	}
	verbatim := `resource "signalcraft_escalation_policy" "db_team_policy" {
  name = "Database SRE Policy"
  rules {
    delay_minutes = 0
    targets {
      type = "schedule"
      id   = signalcraft_schedule.db_primary.id
    }
  }
}`
	if !strings.Contains(string(example), verbatim) {
		t.Fatal("examples/plan-example/main.tf no longer carries the plan's block verbatim")
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		Steps: []resource.TestStep{
			{
				Config: string(example),
				Check: resource.ComposeTestCheckFunc(
					resource.TestCheckResourceAttr("signalcraft_escalation_policy.db_team_policy", "key", "database-sre-policy"),
					resource.TestCheckResourceAttrPair(
						"signalcraft_escalation_policy.db_team_policy", "rules.0.targets.0.id",
						"signalcraft_schedule.db_primary", "id",
					),
				),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
			{Config: string(example), PlanOnly: true}, // the second plan: empty
		},
	})
}

// 429 and 503 are retried, never sooner than Retry-After: against an API server limited to 2 requests per second.
func TestAccRetryAfterIsHonoured(t *testing.T) {
	skipUnlessAcc(t)
	limited, err := startAPI("--rate-limit", "2")
	if err != nil {
		t.Fatal(err)
	}
	defer limited.stop()
	recorder := &recordingTransport{next: http.DefaultTransport}
	client := &Client{BaseURL: limited.URL, APIKey: limited.Key, Identity: testIdentity, HTTP: &http.Client{Transport: recorder}, MaxRetries: 20, MaxRetryWait: time.Minute}
	for i := 0; i < 12; i++ {
		if _, err := client.List(context.Background(), "teams", nil); err != nil {
			t.Fatalf("request %d failed despite retries: %v", i, err)
		}
	}
	throttled := 0
	for i, exchange := range recorder.exchanges {
		if exchange.status != http.StatusTooManyRequests {
			continue
		}
		throttled++
		if exchange.retryAfter == "" {
			t.Fatalf("a 429 without Retry-After")
		}
		var seconds float64
		fmt.Sscan(exchange.retryAfter, &seconds)
		if i+1 < len(recorder.exchanges) {
			waited := recorder.exchanges[i+1].sent.Sub(exchange.answered)
			if waited < time.Duration(seconds*float64(time.Second))-10*time.Millisecond {
				t.Fatalf("retried after %v, Retry-After said %ss", waited, exchange.retryAfter)
			}
		}
	}
	if throttled == 0 {
		t.Fatalf("the limited server never answered 429 (%d requests): the test shows nothing", len(recorder.exchanges))
	}
}

type exchange struct {
	sent, answered time.Time
	status         int
	retryAfter     string
}

type recordingTransport struct {
	next      http.RoundTripper
	mu        sync.Mutex
	exchanges []exchange
}

func (r *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	sent := time.Now()
	resp, err := r.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	r.mu.Lock()
	r.exchanges = append(r.exchanges, exchange{sent: sent, answered: time.Now(), status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After")})
	r.mu.Unlock()
	return resp, nil
}

// 503 is retried after its Retry-After: another process holds SQLite's write lock for 2.5 s (a real lock, taken
// with Python's sqlite3), so the API answers 503 storage-busy until it lets go; the write then succeeds once.
func TestAccServiceUnavailableIsRetriedAfterRetryAfter(t *testing.T) {
	skipUnlessAcc(t)
	busy, err := startAPI("--busy-timeout", "0.1")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.stop()
	python := filepath.Join(filepath.Dir(signalcraftBinary()), "python")
	holder := exec.Command(python, "-c", `import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(2.5)
c.execute("ROLLBACK")`, filepath.Join(busy.dir, "signalcraft.db"))
	stdout, _ := holder.StdoutPipe()
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	defer holder.Wait()
	line := make([]byte, 7)
	if _, err := io.ReadFull(stdout, line); err != nil || string(line) != "locked\n" {
		t.Fatalf("the lock holder did not start: %q %v", line, err)
	}
	recorder := &recordingTransport{next: http.DefaultTransport}
	client := &Client{BaseURL: busy.URL, APIKey: busy.Key, Identity: testIdentity, HTTP: &http.Client{Transport: recorder}, MaxRetries: 20, MaxRetryWait: time.Minute}
	body := map[string]any{"spec": map[string]any{"members": []any{}}}
	if _, err := client.Put(context.Background(), "/v1/teams/while-locked", body, true, 0); err != nil {
		t.Fatalf("the write failed despite retries: %v", err)
	}
	unavailable := 0
	for i, e := range recorder.exchanges {
		if e.status != http.StatusServiceUnavailable {
			continue
		}
		unavailable++
		if e.retryAfter == "" {
			t.Fatal("a 503 without Retry-After")
		}
		var seconds float64
		fmt.Sscan(e.retryAfter, &seconds)
		if waited := recorder.exchanges[i+1].sent.Sub(e.answered); waited < time.Duration(seconds*float64(time.Second))-10*time.Millisecond {
			t.Fatalf("retried after %v, Retry-After said %ss", waited, e.retryAfter)
		}
	}
	last := recorder.exchanges[len(recorder.exchanges)-1]
	if unavailable == 0 || last.status != http.StatusCreated {
		t.Fatalf("%d answers 503, last %d: the lock did not show", unavailable, last.status)
	}
}
