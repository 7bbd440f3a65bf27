package provider

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// The provider's plan-time validators are built from contract.json, which the API generates from its own models (a
// Python test keeps the committed copy current). These tests prove the validators enforce exactly those bounds.

func stringOK(field, value string) bool {
	req := validator.StringRequest{Path: path.Root("x"), ConfigValue: types.StringValue(value)}
	for _, v := range stringValidators(field) {
		resp := &validator.StringResponse{}
		v.ValidateString(context.Background(), req, resp)
		if resp.Diagnostics.HasError() {
			return false
		}
	}
	return true
}

func int64OK(field string, value int64) bool {
	req := validator.Int64Request{Path: path.Root("x"), ConfigValue: types.Int64Value(value)}
	for _, v := range int64Validators(field) {
		resp := &validator.Int64Response{}
		v.ValidateInt64(context.Background(), req, resp)
		if resp.Diagnostics.HasError() {
			return false
		}
	}
	return true
}

func listOK(field string, n int) bool {
	values := make([]string, n)
	for i := range values {
		values[i] = "x"
	}
	list, _ := types.ListValueFrom(context.Background(), types.StringType, values)
	req := validator.ListRequest{Path: path.Root("x"), ConfigValue: list}
	for _, v := range listValidators(field) {
		resp := &validator.ListResponse{}
		v.ValidateList(context.Background(), req, resp)
		if resp.Diagnostics.HasError() {
			return false
		}
	}
	return true
}

func TestValidatorsEnforceTheContractsBounds(t *testing.T) {
	p := New("test")()
	for _, factory := range p.Resources(context.Background()) {
		r := factory()
		resp := &resource.SchemaResponse{}
		r.Schema(context.Background(), resource.SchemaRequest{}, resp) // registers the fields each schema uses
	}
	used := usedSnapshot()
	if len(used) < 40 {
		t.Fatalf("only %d contract fields are used by the schemas", len(used))
	}
	checked := 0
	for field, kind := range used {
		limit := limitOf(field)
		switch kind {
		case "string":
			for _, value := range limit.Enum {
				if !stringOK(field, value) {
					t.Errorf("%s: the API's value %q is refused", field, value)
				}
			}
			if len(limit.Enum) > 0 && stringOK(field, "not-"+limit.Enum[0]+"-x") {
				t.Errorf("%s: a value outside the enum is accepted", field)
			}
			if limit.MaxLength != nil && limit.Pattern == "" && len(limit.Enum) == 0 {
				if !stringOK(field, strings.Repeat("a", *limit.MaxLength)) || stringOK(field, strings.Repeat("a", *limit.MaxLength+1)) {
					t.Errorf("%s: maxLength %d not enforced exactly", field, *limit.MaxLength)
				}
			}
			if limit.MinLength != nil && *limit.MinLength > 0 && stringOK(field, strings.Repeat("a", *limit.MinLength-1)) {
				t.Errorf("%s: minLength %d not enforced", field, *limit.MinLength)
			}
		case "int":
			if limit.Minimum != nil && (!int64OK(field, int64(*limit.Minimum)) || int64OK(field, int64(*limit.Minimum)-1)) {
				t.Errorf("%s: minimum %v not enforced exactly", field, *limit.Minimum)
			}
			if limit.Maximum != nil && (!int64OK(field, int64(*limit.Maximum)) || int64OK(field, int64(*limit.Maximum)+1)) {
				t.Errorf("%s: maximum %v not enforced exactly", field, *limit.Maximum)
			}
		case "set":
			set := func(n int) bool {
				values := make([]string, n)
				for i := range values {
					values[i] = fmt.Sprint("x", i)
				}
				v, _ := types.SetValueFrom(context.Background(), types.StringType, values)
				for _, sv := range setValidators(field) {
					resp := &validator.SetResponse{}
					sv.ValidateSet(context.Background(), validator.SetRequest{Path: path.Root("x"), ConfigValue: v}, resp)
					if resp.Diagnostics.HasError() {
						return false
					}
				}
				return true
			}
			if limit.MinItems != nil && *limit.MinItems > 0 && set(*limit.MinItems-1) {
				t.Errorf("%s: minItems not enforced", field)
			}
			if limit.MaxItems != nil && (!set(*limit.MaxItems) || set(*limit.MaxItems+1)) {
				t.Errorf("%s: maxItems not enforced exactly", field)
			}
		case "list":
			if limit.MinItems != nil && *limit.MinItems > 0 && listOK(field, *limit.MinItems-1) {
				t.Errorf("%s: minItems %d not enforced", field, *limit.MinItems)
			}
			if limit.MaxItems != nil && (!listOK(field, *limit.MaxItems) || listOK(field, *limit.MaxItems+1)) {
				t.Errorf("%s: maxItems %d not enforced exactly", field, *limit.MaxItems)
			}
		}
		checked++
	}
	t.Logf("%d contract fields checked", checked)
}

// Every enum of the API's resources that Terraform exposes is validated from the contract (a new enum field in the
// API that the provider maps must come with its validator); the rest are listed here on purpose.
func TestEveryExposedEnumIsValidated(t *testing.T) {
	notExposed := map[string]bool{}
	for field := range contractLimits {
		for _, prefix := range []string{"integrations.", "envelope.manager", "alert-policies.conditions[].type"} {
			if strings.HasPrefix(field, prefix) && field != "integrations.type" {
				notExposed[field] = true // integration settings are JSON (validated by the API), the manager is the provider's
			}
		}
	}
	p := New("test")()
	for _, factory := range p.Resources(context.Background()) {
		factory().Schema(context.Background(), resource.SchemaRequest{}, &resource.SchemaResponse{})
	}
	used := usedSnapshot()
	var missing []string
	for field, limit := range contractLimits {
		if len(limit.Enum) == 0 || notExposed[field] {
			continue
		}
		if _, ok := used[field]; !ok {
			missing = append(missing, field)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("enums of the API that no provider attribute validates: %v", missing)
	}
}

// Defaults in the schemas are the API's defaults (so an omitted attribute never shows a diff against what the API
// fills in).
func TestDefaultsAreTheAPIs(t *testing.T) {
	for _, field := range []string{"users.role", "teams.members[].role", "schedules.time_zone", "schedules.handoff_notifications", "routing-rules.conditions.match", "workspace.time_zone", "workspace.default_severity"} {
		if _, ok := limitOf(field).Default.(string); !ok {
			t.Errorf("%s has no string default in the contract", field)
		}
	}
	for _, field := range []string{"escalation-policies.num_loops", "routing-rules.priority", "workspace.notifications.reminder_minutes"} {
		value, ok := limitOf(field).Default.(float64)
		if !ok || value != math.Trunc(value) {
			t.Errorf("%s has no integer default in the contract", field)
		}
	}
	if fmt.Sprint(limitOf("workspace.notifications.channels").Default) != "[email]" {
		t.Errorf("workspace channels default: %v", limitOf("workspace.notifications.channels").Default)
	}
}

func usedSnapshot() map[string]string {
	usedFieldsLock.Lock()
	defer usedFieldsLock.Unlock()
	out := make(map[string]string, len(usedFields))
	for k, v := range usedFields {
		out[k] = v
	}
	return out
}
