package provider

import (
	"fmt"
	"net/http"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
)

// Service accounts: `disabled` is the in-place update (the API has no other); the name and description replace.
func TestAccServiceAccountLifecycle(t *testing.T) {
	skipUnlessAcc(t)
	name := unique("ci")
	config := func(disabled bool) string {
		return fmt.Sprintf(`
resource "signalcraft_service_account" "ci" {
  name        = %q
  description = "CI pipeline"
  disabled    = %t
}`, name, disabled)
	}
	address := "signalcraft_service_account.ci"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		CheckDestroy: func(*terraform.State) error {
			if status := call(t, http.MethodGet, "/v1/service-accounts/"+name, nil, nil); status != http.StatusNotFound {
				return fmt.Errorf("service account still there: %d", status)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{Config: config(false), Check: resource.TestCheckResourceAttr(address, "disabled", "false")},
			{Config: config(false), PlanOnly: true},
			{
				Config: config(true), Check: resource.TestCheckResourceAttr(address, "disabled", "true"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(address, plancheck.ResourceActionUpdate)}},
			},
			{ResourceName: address, ImportState: true, ImportStateId: name, ImportStateVerify: true},
			{
				PreConfig: func() { call(t, http.MethodPost, "/v1/service-accounts/"+name+":enable", nil, nil) },
				Config:    config(true), Check: resource.TestCheckResourceAttr(address, "disabled", "true"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(address, plancheck.ResourceActionUpdate)}},
			},
			{
				PreConfig:        func() { call(t, http.MethodDelete, "/v1/service-accounts/"+name, nil, nil) },
				Config:           config(true),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(address, plancheck.ResourceActionCreate)}},
			},
		},
	})
}

// API keys are immutable: a change replaces the key, a key revoked outside Terraform is issued again, destroy revokes.
func TestAccAPIKeyLifecycle(t *testing.T) {
	skipUnlessAcc(t)
	name := unique("deploy")
	config := func(scope string) string {
		return fmt.Sprintf(`
resource "signalcraft_service_account" "deploy" {
  name = %q
}

resource "signalcraft_api_key" "k" {
  service_account = signalcraft_service_account.deploy.name
  name            = "deploy key"
  scopes          = [%q, "teams:read"]
  expires_at      = "2030-01-01T00:00:00Z"
}`, name, scope)
	}
	address := "signalcraft_api_key.k"
	var firstID string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		Steps: []resource.TestStep{
			{
				Config: config("schedules:read"),
				Check: resource.ComposeTestCheckFunc(
					resource.TestMatchResourceAttr(address, "key", regexp.MustCompile(`^sc_[a-z0-9]{12}_`)),
					resource.TestCheckResourceAttr(address, "scopes.0", "schedules:read"),
					func(s *terraform.State) error {
						firstID = s.RootModule().Resources[address].Primary.ID
						key := s.RootModule().Resources[address].Primary.Attributes["key"]
						// the key shown once works
						req, _ := http.NewRequest(http.MethodGet, api.URL+"/v1/teams", nil)
						req.Header.Set("Authorization", "Bearer "+key)
						resp, err := http.DefaultClient.Do(req)
						if err != nil {
							return err
						}
						resp.Body.Close()
						if resp.StatusCode != 200 {
							return fmt.Errorf("the created key is refused: %d", resp.StatusCode)
						}
						return nil
					},
				),
			},
			{Config: config("schedules:read"), PlanOnly: true},
			{
				Config: config("users:read"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(address, plancheck.ResourceActionDestroyBeforeCreate),
				}},
				Check: func(s *terraform.State) error {
					// the replaced key is revoked
					var page struct {
						Items []apiKeyJSON `json:"items"`
					}
					call(t, http.MethodGet, "/v1/service-accounts/"+name+"/api-keys", nil, &page)
					for _, k := range page.Items {
						if k.ID == firstID && k.RevokedAt == nil {
							return fmt.Errorf("the replaced key %s is not revoked", firstID)
						}
					}
					return nil
				},
			},
			{
				ResourceName: address, ImportState: true, ImportStateVerify: true,
				ImportStateIdFunc: func(s *terraform.State) (string, error) {
					return name + "/" + s.RootModule().Resources[address].Primary.ID, nil
				},
				ImportStateVerifyIgnore: []string{"key"}, // shown once, never again
			},
			{
				PreConfig: func() {
					var page struct {
						Items []apiKeyJSON `json:"items"`
					}
					call(t, http.MethodGet, "/v1/service-accounts/"+name+"/api-keys", nil, &page)
					for _, k := range page.Items {
						call(t, http.MethodPost, "/v1/api-keys/"+k.ID+":revoke", nil, nil)
					}
				},
				Config: config("users:read"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(address, plancheck.ResourceActionCreate),
				}},
			},
		},
	})
}
