package provider

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

// lifecycle is the acceptance sequence every resource passes: create → plan empty → update in place → import
// verifies → changed outside Terraform is detected and corrected → deleted outside Terraform is re-created → destroy.
type lifecycle struct {
	address    string // signalcraft_team.t
	collection string // teams
	key        string
	create     string // configuration of step 1
	update     string // configuration of step 3 onwards
	// attribute whose value differs between create and update (and which the outside change reverts)
	attribute, created, updated string
	outside                     func(spec map[string]any)
	importIgnore                []string
	importID                    string
}

func (l lifecycle) steps(t *testing.T) []resource.TestStep {
	importID := l.importID
	if importID == "" {
		importID = l.key
	}
	return []resource.TestStep{
		{ // create
			Config: l.create,
			Check:  resource.TestCheckResourceAttr(l.address, l.attribute, l.created),
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(l.address, plancheck.ResourceActionCreate)},
				PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
			},
		},
		{ // plan empty
			Config:   l.create,
			PlanOnly: true,
		},
		{ // update in place
			Config: l.update,
			Check:  resource.TestCheckResourceAttr(l.address, l.attribute, l.updated),
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(l.address, plancheck.ResourceActionUpdate)},
			},
		},
		{ // import verifies
			ResourceName:            l.address,
			ImportState:             true,
			ImportStateId:           importID,
			ImportStateVerify:       true,
			ImportStateVerifyIgnore: l.importIgnore,
		},
		{ // changed outside Terraform: detected (an update is planned) and corrected
			PreConfig: func() { changeOutside(t, l.collection, l.key, l.outside) },
			Config:    l.update,
			Check: resource.ComposeTestCheckFunc(
				resource.TestCheckResourceAttr(l.address, l.attribute, l.updated),
				func(*terraform.State) error {
					// what SignalCraft now has is what the configuration says, not the outside change
					env, status := envelope(t, l.collection, l.key)
					if status != http.StatusOK {
						return fmt.Errorf("GET after correction: %d", status)
					}
					if env.Manager == nil || env.Manager.Kind != "terraform" || env.Manager.Identity != testIdentity {
						return fmt.Errorf("manager after correction: %+v", env.Manager)
					}
					return nil
				},
			),
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(l.address, plancheck.ResourceActionUpdate)},
			},
		},
		{ // deleted outside Terraform: re-created
			PreConfig: func() {
				if l.collection == "workspace" {
					call(t, http.MethodDelete, "/v1/workspace?manager_identity="+testIdentity, nil, nil)
				} else {
					deleteOutside(t, l.collection, l.key)
				}
			},
			Config: l.update,
			Check:  resource.TestCheckResourceAttr(l.address, l.attribute, l.updated),
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(l.address, l.recreateAction())},
			},
		},
	}
}

// The workspace cannot be deleted, only reset to its defaults: that shows as drift, corrected by an update.
func (l lifecycle) recreateAction() plancheck.ResourceActionType {
	if l.collection == "workspace" {
		return plancheck.ResourceActionUpdate
	}
	return plancheck.ResourceActionCreate
}

func (l lifecycle) run(t *testing.T) {
	skipUnlessAcc(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		Steps:                    l.steps(t),
		CheckDestroy: func(*terraform.State) error {
			if l.collection == "workspace" {
				env, _ := envelope(t, "workspace", "")
				if env.Manager != nil {
					return fmt.Errorf("the workspace is still managed after destroy: %+v", env.Manager)
				}
				return nil
			}
			if _, status := envelope(t, l.collection, l.key); status != http.StatusNotFound {
				return fmt.Errorf("%s/%s still exists after destroy (%d)", l.collection, l.key, status)
			}
			return nil
		},
	})
}

func users(prefix string, names ...string) string {
	out := ""
	for _, n := range names {
		out += fmt.Sprintf(`
resource "signalcraft_user" %[2]q {
  name  = "%[1]s %[2]s"
  key   = "%[1]s-%[2]s"
  email = "%[1]s-%[2]s@example.com"
}
`, prefix, n)
	}
	return out
}

func TestAccUserLifecycle(t *testing.T) {
	key := unique("ada")
	config := func(role string) string {
		return fmt.Sprintf(`
resource "signalcraft_user" "u" {
  name  = "Ada Lovelace"
  key   = %q
  email = "%s@example.com"
  role  = %q
}`, key, key, role)
	}
	lifecycle{
		address: "signalcraft_user.u", collection: "users", key: key,
		create: config("responder"), update: config("admin"),
		attribute: "role", created: "responder", updated: "admin",
		outside: func(spec map[string]any) { spec["role"] = "observer" },
	}.run(t)
}

func TestAccTeamLifecycle(t *testing.T) {
	key := unique("team")
	config := func(role string) string {
		return users(key, "a", "b") + fmt.Sprintf(`
resource "signalcraft_team" "t" {
  name        = "Database SRE"
  key         = %q
  description = "Owns the databases"
  members {
    user = signalcraft_user.a.key
    role = %q
  }
  members {
    user = signalcraft_user.b.key
  }
}`, key, role)
	}
	lifecycle{
		address: "signalcraft_team.t", collection: "teams", key: key,
		create: config("member"), update: config("manager"),
		attribute: "members.0.role", created: "member", updated: "manager",
		outside: func(spec map[string]any) { spec["members"] = spec["members"].([]any)[:1] },
	}.run(t)
}

func TestAccScheduleLifecycle(t *testing.T) {
	key := unique("sched")
	config := func(turn int) string {
		return users(key, "a", "b") + fmt.Sprintf(`
resource "signalcraft_schedule" "s" {
  name      = "DB Primary"
  key       = %q
  time_zone = "Europe/Berlin"
  layers {
    name                         = "weekly"
    start                        = "2026-01-05T10:00:00+01:00"
    rotation_turn_length_seconds = %d
    users                        = [signalcraft_user.a.key, signalcraft_user.b.key]
  }
}`, key, turn)
	}
	lifecycle{
		address: "signalcraft_schedule.s", collection: "schedules", key: key,
		create: config(604800), update: config(86400),
		attribute: "layers.0.rotation_turn_length_seconds", created: "604800", updated: "86400",
		outside: func(spec map[string]any) {
			spec["layers"].([]any)[0].(map[string]any)["rotation_turn_length_seconds"] = 3600
		},
		// the imported start is the API's UTC form of the same instant
		importIgnore: []string{"layers.0.start"},
	}.run(t)
}

func TestAccEscalationPolicyLifecycle(t *testing.T) {
	key := unique("esc")
	config := func(delay int) string {
		return users(key, "a") + fmt.Sprintf(`
resource "signalcraft_escalation_policy" "p" {
  name      = "Database SRE Policy"
  key       = %q
  num_loops = 1
  rules {
    delay_minutes = %d
    targets {
      type = "user"
      id   = signalcraft_user.a.id
    }
  }
}`, key, delay)
	}
	lifecycle{
		address: "signalcraft_escalation_policy.p", collection: "escalation-policies", key: key,
		create: config(0), update: config(5),
		attribute: "rules.0.delay_minutes", created: "0", updated: "5",
		outside: func(spec map[string]any) { spec["rules"].([]any)[0].(map[string]any)["delay_minutes"] = 30 },
	}.run(t)
}

func TestAccAlertPolicyLifecycle(t *testing.T) {
	key := unique("pol")
	config := func(severity string) string {
		return users(key, "a") + fmt.Sprintf(`
resource "signalcraft_escalation_policy" "p" {
  name = "%[1]s escalation"
  rules {
    delay_minutes = 0
    targets {
      type = "user"
      name = signalcraft_user.a.key
    }
  }
}

resource "signalcraft_alert_policy" "a" {
  name                 = "DB CPU"
  key                  = %[1]q
  severity             = %[2]q
  routing_key          = "%[1]s-rk"
  escalation_policy_id = signalcraft_escalation_policy.p.id
  conditions {
    metric       = "cpu_usage"
    operator     = "gt"
    value        = 90.5
    for_duration = "5m"
  }
}`, key, severity)
	}
	lifecycle{
		address: "signalcraft_alert_policy.a", collection: "alert-policies", key: key,
		create: config("critical"), update: config("warning"),
		attribute: "severity", created: "critical", updated: "warning",
		outside: func(spec map[string]any) { spec["severity"] = "info" },
	}.run(t)
}

func TestAccRoutingRuleLifecycle(t *testing.T) {
	key := unique("rr")
	config := func(priority int) string {
		return fmt.Sprintf(`
resource "signalcraft_routing_rule" "r" {
  name     = "Silence staging"
  key      = %q
  priority = %d
  match    = "any"
  suppress = true
  conditions {
    field    = "labels"
    key      = "env"
    operator = "in"
    values   = ["staging", "dev"]
  }
  conditions {
    field    = "summary"
    operator = "contains"
    value    = "test"
  }
}`, key, priority)
	}
	lifecycle{
		address: "signalcraft_routing_rule.r", collection: "routing-rules", key: key,
		create: config(10), update: config(20),
		attribute: "priority", created: "10", updated: "20",
		outside: func(spec map[string]any) { spec["priority"] = 99 },
	}.run(t)
}

func TestAccIntegrationLifecycle(t *testing.T) {
	key := unique("int")
	config := func(severity string) string {
		return fmt.Sprintf(`
resource "signalcraft_integration" "i" {
  name     = "Prometheus"
  key      = %q
  type     = "alertmanager"
  settings = jsonencode({ default_severity = %q })
}

output "webhook_url" {
  value     = signalcraft_integration.i.webhook_url
  sensitive = true
}`, key, severity)
	}
	lifecycle{
		address: "signalcraft_integration.i", collection: "integrations", key: key,
		create: config("warning"), update: config("critical"),
		attribute: "settings", created: `{"default_severity":"warning"}`, updated: `{"default_severity":"critical"}`,
		outside: func(spec map[string]any) {
			spec["alertmanager"] = map[string]any{"default_severity": "info"}
		},
		// the connection's secrets are read after a write; an import does not read them
		importIgnore: []string{"webhook_url", "webhook_token", "integration_key"},
	}.run(t)
}

func TestAccWorkspaceLifecycle(t *testing.T) {
	config := func(zone string) string {
		return fmt.Sprintf(`
resource "signalcraft_workspace" "w" {
  name                  = "Acme Operations"
  time_zone             = %q
  default_severity      = "warning"
  notification_channels = ["email", "push"]
  reminder_minutes      = 15
}`, zone)
	}
	lifecycle{
		address: "signalcraft_workspace.w", collection: "workspace", key: "",
		create: config("Europe/Berlin"), update: config("America/New_York"),
		attribute: "time_zone", created: "Europe/Berlin", updated: "America/New_York",
		outside:  func(spec map[string]any) { spec["time_zone"] = "Asia/Tokyo" },
		importID: "workspace",
	}.run(t)
}

// The key is derived from the name once: a rename is an in-place update that keeps the API name; a new key replaces.
func TestAccRenameKeepsTheKey(t *testing.T) {
	skipUnlessAcc(t)
	suffix := unique("x")
	config := func(name, key string) string {
		keyLine := ""
		if key != "" {
			keyLine = fmt.Sprintf("key = %q", key)
		}
		return fmt.Sprintf(`
resource "signalcraft_team" "t" {
  name = %q
  %s
}`, name, keyLine)
	}
	derived := "payments-on-call-" + suffix
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		Steps: []resource.TestStep{
			{
				Config: config("Payments On-Call "+suffix, ""),
				Check:  resource.TestCheckResourceAttr("signalcraft_team.t", "key", derived),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectKnownValue("signalcraft_team.t", tfjsonpath.New("key"), knownvalue.StringExact(derived)),
				}},
			},
			{
				Config: config("Payments & Billing On-Call", ""),
				Check:  resource.TestCheckResourceAttr("signalcraft_team.t", "key", derived),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("signalcraft_team.t", plancheck.ResourceActionUpdate),
				}},
			},
			{
				Config: config("Payments & Billing On-Call", "billing-"+suffix),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("signalcraft_team.t", plancheck.ResourceActionDestroyBeforeCreate),
				}},
				Check: func(*terraform.State) error {
					if _, status := envelope(t, "teams", derived); status != http.StatusNotFound {
						return fmt.Errorf("the old key is still there: %d", status)
					}
					return nil
				},
			},
		},
	})
}
