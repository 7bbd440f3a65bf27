package provider

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
)

// Every data source finds its object by key and by display name, and refuses an ambiguous or unknown name.
func TestAccDataSourcesFindByKeyAndName(t *testing.T) {
	skipUnlessAcc(t)
	key := unique("ds")
	objects := users(key, "a") + fmt.Sprintf(`
resource "signalcraft_team" "t" {
  name = "%[1]s team"
  members {
    user = signalcraft_user.a.key
  }
}

resource "signalcraft_schedule" "s" {
  name = "%[1]s schedule"
  layers {
    name                         = "weekly"
    start                        = "2026-01-05T09:00:00Z"
    rotation_turn_length_seconds = 604800
    users                        = [signalcraft_user.a.key]
  }
}

resource "signalcraft_escalation_policy" "p" {
  name = "%[1]s policy"
  rules {
    delay_minutes = 0
    targets {
      type = "schedule"
      id   = signalcraft_schedule.s.id
    }
  }
}

resource "signalcraft_integration" "i" {
  name = "%[1]s integration"
  type = "grafana"
}
`, key)
	lookups := fmt.Sprintf(`
data "signalcraft_user" "by_name" {
  name = "%[1]s a"
}

data "signalcraft_team" "by_key" {
  key = signalcraft_team.t.key
}

data "signalcraft_schedule" "by_name" {
  name = signalcraft_schedule.s.name
}

data "signalcraft_escalation_policy" "by_name" {
  name = signalcraft_escalation_policy.p.name
}

data "signalcraft_integration" "by_key" {
  key = signalcraft_integration.i.key
}
`, key)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		Steps: []resource.TestStep{
			{Config: objects},
			{
				Config: objects + lookups,
				Check: resource.ComposeTestCheckFunc(
					resource.TestCheckResourceAttrPair("data.signalcraft_user.by_name", "id", "signalcraft_user.a", "id"),
					resource.TestCheckResourceAttrPair("data.signalcraft_user.by_name", "email", "signalcraft_user.a", "email"),
					resource.TestCheckResourceAttr("data.signalcraft_user.by_name", "role", "responder"),
					resource.TestCheckResourceAttrPair("data.signalcraft_team.by_key", "id", "signalcraft_team.t", "id"),
					resource.TestCheckResourceAttrPair("data.signalcraft_schedule.by_name", "id", "signalcraft_schedule.s", "id"),
					resource.TestCheckResourceAttr("data.signalcraft_schedule.by_name", "time_zone", "UTC"),
					resource.TestCheckResourceAttrPair("data.signalcraft_escalation_policy.by_name", "key", "signalcraft_escalation_policy.p", "key"),
					resource.TestCheckResourceAttr("data.signalcraft_integration.by_key", "type", "grafana"),
				),
			},
			{
				Config:      objects + `data "signalcraft_team" "nobody" { name = "no such team anywhere" }`,
				ExpectError: regexp.MustCompile(`0 teams are named "no such team anywhere"`),
			},
			{
				Config:      objects + `data "signalcraft_user" "nobody" { key = "no-such-user-anywhere" }`,
				ExpectError: regexp.MustCompile(`SignalCraft has no user with key "no-such-user-anywhere"`),
			},
		},
	})
}
