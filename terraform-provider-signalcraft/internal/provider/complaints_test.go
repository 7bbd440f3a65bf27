package provider

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
)

// What users of the PagerDuty provider complain about, each shown not to happen here.

func apiHas(t *testing.T, collection, key string, check func(env Envelope) error) resource.TestCheckFunc {
	return func(*terraform.State) error {
		env, status := envelope(t, collection, key)
		if status != http.StatusOK {
			return fmt.Errorf("GET %s/%s: %d", collection, key, status)
		}
		return check(env)
	}
}

func layer0(env Envelope) map[string]any {
	return env.Spec["layers"].([]any)[0].(map[string]any)
}

// A schedule start written with an offset is stored in UTC and never shows a diff, in any time zone.
func TestAccScheduleTimesAcrossTimeZonesNeverDiff(t *testing.T) {
	skipUnlessAcc(t)
	key := unique("tz")
	config := func(start string) string {
		return users(key, "a") + fmt.Sprintf(`
resource "signalcraft_schedule" "s" {
  name      = "Tokyo follow-the-sun"
  key       = %q
  time_zone = "Asia/Tokyo"
  layers {
    name                         = "day"
    start                        = %q
    rotation_turn_length_seconds = 86400
    users                        = [signalcraft_user.a.key]
  }
}`, key, start)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		Steps: []resource.TestStep{
			{
				Config: config("2026-01-05T09:00:00+09:00"),
				Check: resource.ComposeTestCheckFunc(
					resource.TestCheckResourceAttr("signalcraft_schedule.s", "layers.0.start", "2026-01-05T09:00:00+09:00"),
					apiHas(t, "schedules", key, func(env Envelope) error {
						if got := layer0(env)["start"]; got != "2026-01-05T00:00:00Z" {
							return fmt.Errorf("stored start %v", got)
						}
						return nil
					}),
				),
			},
			{Config: config("2026-01-05T09:00:00+09:00"), PlanOnly: true},
			// the same instant written another way: the configuration's text is taken once, SignalCraft's object is
			// not even written again (same version), and the next plan is empty
			{
				Config: config("2026-01-04T19:00:00-05:00"),
				Check: apiHas(t, "schedules", key, func(env Envelope) error {
					if env.Version != 1 || layer0(env)["start"] != "2026-01-05T00:00:00Z" {
						return fmt.Errorf("version %d, start %v", env.Version, layer0(env)["start"])
					}
					return nil
				}),
			},
			{Config: config("2026-01-04T19:00:00-05:00"), PlanOnly: true},
			// a different instant is a change
			{Config: config("2026-01-05T01:00:00Z"), PlanOnly: true, ExpectNonEmptyPlan: true},
		},
	})
}

// Adding a member changes the layer's member list and nothing else: the rotation's start stays, so whoever is on
// call keeps their turn (the PagerDuty provider moved `start` to "now" and restarted rotations).
func TestAccAddingAMemberDoesNotResetTheRotation(t *testing.T) {
	skipUnlessAcc(t)
	key := unique("rot")
	config := func(members string) string {
		return users(key, "a", "b", "c") + fmt.Sprintf(`
resource "signalcraft_schedule" "s" {
  name = "Rotation"
  key  = %q
  layers {
    name                         = "weekly"
    start                        = "2025-06-02T09:00:00Z"
    rotation_turn_length_seconds = 604800
    users                        = [%s]
  }
}`, key, members)
	}
	onCall := func(env Envelope, at time.Time) string {
		layer := layer0(env)
		start, _ := time.Parse(time.RFC3339, layer["start"].(string))
		turn := time.Duration(layer["rotation_turn_length_seconds"].(float64)) * time.Second
		members := layer["users"].([]any)
		return members[int(at.Sub(start)/turn)%len(members)].(string)
	}
	// a moment in the rotation's second turn: b's turn with [a, b], and still b's with [a, b, c]
	at := time.Date(2025, 6, 10, 12, 0, 0, 0, time.UTC)
	var before string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		Steps: []resource.TestStep{
			{
				Config: config("signalcraft_user.a.key, signalcraft_user.b.key"),
				Check: apiHas(t, "schedules", key, func(env Envelope) error {
					before = onCall(env, at)
					return nil
				}),
			},
			{
				Config: config("signalcraft_user.a.key, signalcraft_user.b.key, signalcraft_user.c.key"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("signalcraft_schedule.s", plancheck.ResourceActionUpdate),
				}},
				Check: apiHas(t, "schedules", key, func(env Envelope) error {
					if got := layer0(env)["start"]; got != "2025-06-02T09:00:00Z" {
						return fmt.Errorf("the layer's start moved to %v", got)
					}
					if after := onCall(env, at); after != before || !strings.HasSuffix(after, "-b") {
						return fmt.Errorf("on call before %s, after %s", before, after)
					}
					return nil
				}),
			},
		},
	})
}

// Targets keep the order written: no drift from a server that sorts, and a reorder is an in-place update.
func TestAccRuleTargetOrderIsKept(t *testing.T) {
	skipUnlessAcc(t)
	key := unique("order")
	target := func(kind, ref string) string {
		return fmt.Sprintf("    targets {\n      type = %q\n      id   = %s\n    }\n", kind, ref)
	}
	config := func(targets ...string) string {
		return users(key, "zed", "amy") + fmt.Sprintf(`
resource "signalcraft_team" "t" {
  name = "%[1]s team"
  members {
    user = signalcraft_user.amy.key
  }
}

resource "signalcraft_escalation_policy" "p" {
  name = "Ordered"
  key  = %[1]q
  rules {
    delay_minutes = 0
%[2]s  }
}`, key, strings.Join(targets, ""))
	}
	zed, team, amy := target("user", "signalcraft_user.zed.id"), target("team", "signalcraft_team.t.id"), target("user", "signalcraft_user.amy.id")
	order := func(want ...string) resource.TestCheckFunc {
		return apiHas(t, "escalation-policies", key, func(env Envelope) error {
			targets := env.Spec["rules"].([]any)[0].(map[string]any)["targets"].([]any)
			for i, w := range want {
				if got := targets[i].(map[string]any)["type"]; got != w {
					return fmt.Errorf("target %d is a %v, want %s", i, got, w)
				}
			}
			return nil
		})
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		Steps: []resource.TestStep{
			{Config: config(zed, team, amy), Check: order("user", "team", "user")},
			{Config: config(zed, team, amy), PlanOnly: true},
			{
				Config: config(team, amy, zed), Check: order("team", "user", "user"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("signalcraft_escalation_policy.p", plancheck.ResourceActionUpdate),
				}},
			},
		},
	})
}

// Objects that depend on each other are created in one apply: each read right after its create finds it (the API
// answers a write with the object as the next read returns it; no eventual consistency to wait out).
func TestAccNoNotFoundRightAfterCreate(t *testing.T) {
	skipUnlessAcc(t)
	key := unique("chain")
	chain := users(key, "a")
	previous := "signalcraft_user.a.id"
	kinds := []string{"user"}
	for i := 0; i < 6; i++ {
		chain += fmt.Sprintf(`
resource "signalcraft_escalation_policy" "p%d" {
  name = "%s step %d"
  rules {
    delay_minutes = %d
    targets {
      type = %q
      id   = %s
    }
  }
}

resource "signalcraft_team" "t%d" {
  name = "%s team %d"
  members {
    user = signalcraft_user.a.key
  }
}
`, i, key, i, i, kinds[0], previous, i, key, i)
		previous = fmt.Sprintf("signalcraft_team.t%d.id", i)
		kinds[0] = "team"
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		Steps: []resource.TestStep{
			{
				Config: chain,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
			{Config: chain, PlanOnly: true},
		},
	})
}

// Deleting a schedule that a policy still uses fails with the policy's name; create_before_destroy replaces it
// cleanly because the policy moves to the new schedule before the old one goes.
func TestAccScheduleInUseIsExplainedAndCreateBeforeDestroyReplaces(t *testing.T) {
	skipUnlessAcc(t)
	key := unique("inuse")
	schedule := func(scheduleKey, lifecycle string) string {
		return fmt.Sprintf(`
resource "signalcraft_schedule" "s" {
  name = "Primary"
  key  = %q
  layers {
    name                         = "weekly"
    start                        = "2026-01-05T09:00:00Z"
    rotation_turn_length_seconds = 604800
    users                        = [signalcraft_user.a.key]
  }
%s
}
`, scheduleKey, lifecycle)
	}
	policy := func(ref string, extra ...string) string {
		return fmt.Sprintf(`
resource "signalcraft_escalation_policy" "p" {
  name = "Pages the schedule"
  key  = "%s-policy"
  %s
  rules {
    delay_minutes = 0
    targets {
      type = "schedule"
      %s
    }
  }
}
`, key, strings.Join(extra, ""), ref)
	}
	base := users(key, "a")
	cbd := "  lifecycle {\n    create_before_destroy = true\n  }"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		Steps: []resource.TestStep{
			// the policy names the schedule by key: Terraform does not see the dependency, SignalCraft does
			{Config: base + schedule(key, "") + policy(fmt.Sprintf("name = %q", key), "depends_on = [signalcraft_schedule.s]")},
			{
				Config:      base + policy(fmt.Sprintf("name = %q", key)),
				ExpectError: regexp.MustCompile(`(?s)schedule "` + key + `" is still used by\s+escalation-policies/` + key + `-policy.*create_before_destroy`),
			},
			// referenced by id, and replaced (a new key) with create_before_destroy: new schedule, policy moved, old deleted
			{Config: base + schedule(key, cbd) + policy("id = signalcraft_schedule.s.id")},
			{
				Config: base + schedule(key+"-v2", cbd) + policy("id = signalcraft_schedule.s.id"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("signalcraft_schedule.s", plancheck.ResourceActionCreateBeforeDestroy),
				}},
				Check: func(*terraform.State) error {
					if _, status := envelope(t, "schedules", key); status != http.StatusNotFound {
						return fmt.Errorf("the old schedule is still there: %d", status)
					}
					return nil
				},
			},
		},
	})
}

// A target's type is required: nothing is silently defaulted to "user" (PagerDuty's user_reference default).
func TestAccTargetTypeIsNeverDefaulted(t *testing.T) {
	skipUnlessAcc(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		Steps: []resource.TestStep{{
			Config: `
resource "signalcraft_escalation_policy" "p" {
  name = "No type"
  rules {
    delay_minutes = 0
    targets {
      id = "sch_0123456789abcdef"
    }
  }
}`,
			ExpectError: regexp.MustCompile(`The argument "type" is required`),
			PlanOnly:    true,
		}},
	})
}

// Plan-time validation from the contract: bad values fail `terraform plan`, before any request.
func TestAccPlanTimeValidation(t *testing.T) {
	skipUnlessAcc(t)
	cases := map[string]string{
		`resource "signalcraft_user" "u" {
  name  = "X"
  email = "x@example.com"
  role  = "root"
}`: `value must be one of`,
		`resource "signalcraft_escalation_policy" "p" {
  name = "Slow"
  rules {
    delay_minutes = 5000
    targets {
      type = "user"
      name = "a"
    }
  }
}`: `must be at most 1440`,
		`resource "signalcraft_schedule" "s" {
  name      = "Mars"
  time_zone = "Mars/Olympus"
  layers {
    name                         = "x"
    start                        = "2026-01-05T09:00:00Z"
    rotation_turn_length_seconds = 60
    users                        = ["a"]
  }
}`: `(?s)(not an IANA time zone|at least 3600).*(not an IANA time zone|at least 3600)`,
		`resource "signalcraft_team" "t" {
  name = "!!!"
}`: `Cannot derive a key`,
		`resource "signalcraft_escalation_policy" "p" {
  name = "Both"
  rules {
    delay_minutes = 0
    targets {
      type = "user"
      id   = "usr_1"
      name = "a"
    }
  }
}`: `one \(and only one\) of`,
	}
	for config, pattern := range cases {
		resource.Test(t, resource.TestCase{
			ProtoV6ProviderFactories: providerFactories,
			Steps:                    []resource.TestStep{{Config: config, PlanOnly: true, ExpectError: regexp.MustCompile(pattern)}},
		})
	}
}

// An object another manager owns (here: the operator) is a clear error, never a silent takeover.
func TestAccObjectOfAnotherManagerIsRefused(t *testing.T) {
	skipUnlessAcc(t)
	key := unique("owned")
	operator := map[string]any{"kind": "kubernetes", "identity": "k8s://cluster/ns/Team/" + key, "uid": "u1"}
	config := fmt.Sprintf(`
resource "signalcraft_team" "t" {
  name = "Owned by the operator"
  key  = %q
}`, key)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		PreCheck: func() {
			body := map[string]any{"spec": map[string]any{"members": []any{}}, "manager": operator}
			if status := call(t, http.MethodPut, "/v1/teams/"+key, body, nil); status != http.StatusCreated {
				t.Fatalf("creating the operator's team: %d", status)
			}
		},
		Steps: []resource.TestStep{
			{Config: config, ExpectError: regexp.MustCompile(`(?s)already exists in SignalCraft.*terraform import signalcraft_team`)},
			{Config: config, ResourceName: "signalcraft_team.t", ImportState: true, ImportStateId: key, ImportStatePersist: true},
			{Config: config, ExpectError: regexp.MustCompile(`(?s)is managed by kubernetes "k8s://cluster/ns/Team/` + key + `".*does not take over`)},
			{
				// the operator releases it (deletionPolicy: Orphan); now Terraform adopts it
				PreConfig: func() {
					call(t, http.MethodPost, "/v1/teams/"+key+":release", map[string]any{"identity": operator["identity"]}, nil)
				},
				Config: config,
				Check: apiHas(t, "teams", key, func(env Envelope) error {
					if env.Manager == nil || env.Manager.Kind != "terraform" || env.Manager.Identity != testIdentity {
						return fmt.Errorf("manager %+v", env.Manager)
					}
					return nil
				}),
			},
		},
	})
}

// A write with a stale version is refused (412) and explained; Terraform never overwrites a change it has not seen.
func TestAccStaleVersionIsExplained(t *testing.T) {
	skipUnlessAcc(t)
	client := &Client{BaseURL: api.URL, APIKey: api.Key, Identity: testIdentity, HTTP: http.DefaultClient}
	ctx := context.Background()
	key := unique("stale")
	body := func(description string) map[string]any {
		return map[string]any{"spec": map[string]any{"members": []any{}}, "description": description}
	}
	created, err := client.Put(ctx, "/v1/teams/"+key, body("first"), true, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Put(ctx, "/v1/teams/"+key, body("changed elsewhere"), false, created.Version); err != nil {
		t.Fatal(err)
	}
	_, err = client.Put(ctx, "/v1/teams/"+key, body("from an old state"), false, created.Version)
	if !IsStatus(err, http.StatusPreconditionFailed) {
		t.Fatalf("a stale If-Match was not refused: %v", err)
	}
	explained := explain(err, teamKind, key, testIdentity)
	if !strings.Contains(explained.Summary(), "changed outside Terraform") || !strings.Contains(explained.Detail(), "terraform plan") {
		t.Fatalf("not explained: %s / %s", explained.Summary(), explained.Detail())
	}
	env, _ := envelope(t, "teams", key)
	if env.Description == nil || *env.Description != "changed elsewhere" {
		t.Fatalf("the stale write overwrote the change: %v", env.Description)
	}
}
