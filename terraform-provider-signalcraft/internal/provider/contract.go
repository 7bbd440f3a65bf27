package provider

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/defaults"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/listdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// contract.json is generated from the API's spec models (`signalcraft api limits`); a Python test fails when it is
// stale. Every enum, bound, pattern and default the provider checks at plan time comes from it, so the provider and
// the API cannot disagree about what is valid.
//
//go:embed contract.json
var contractJSON []byte

// Limit is one field's constraints as the API's JSON Schema states them.
type Limit struct {
	Enum      []string `json:"enum"`
	Minimum   *float64 `json:"minimum"`
	Maximum   *float64 `json:"maximum"`
	MinLength *int     `json:"minLength"`
	MaxLength *int     `json:"maxLength"`
	MinItems  *int     `json:"minItems"`
	MaxItems  *int     `json:"maxItems"`
	Pattern   string   `json:"pattern"`
	Default   any      `json:"default"`
	HasDflt   bool     `json:"-"`
}

var contractLimits = func() map[string]Limit {
	var raw map[string]map[string]json.RawMessage
	if err := json.Unmarshal(contractJSON, &raw); err != nil {
		panic(fmt.Sprintf("contract.json: %v", err))
	}
	out := make(map[string]Limit, len(raw))
	for key, fields := range raw {
		var limit Limit
		blob, _ := json.Marshal(fields)
		if err := json.Unmarshal(blob, &limit); err != nil {
			panic(fmt.Sprintf("contract.json %s: %v", key, err))
		}
		_, limit.HasDflt = fields["default"]
		out[key] = limit
	}
	return out
}()

// limitOf returns the constraints of `<collection>.<path>`; a path the contract does not know is a programming error.
func limitOf(field string) Limit {
	limit, ok := contractLimits[field]
	if !ok {
		panic(fmt.Sprintf("contract.json has no field %q: regenerate it or fix the provider's mapping", field))
	}
	return limit
}

// usedFields records every contract field the schemas draw on (the contract test checks each of them). Schemas are
// built concurrently (Terraform asks for them in parallel), hence the lock.
var (
	usedFields     = map[string]string{}
	usedFieldsLock sync.Mutex
)

func use(field, kind string) Limit {
	usedFieldsLock.Lock()
	usedFields[field] = kind
	usedFieldsLock.Unlock()
	return limitOf(field)
}

func stringValidators(field string) []validator.String {
	limit := use(field, "string")
	var out []validator.String
	if len(limit.Enum) > 0 {
		out = append(out, stringvalidator.OneOf(limit.Enum...))
	}
	if limit.MinLength != nil || limit.MaxLength != nil {
		minimum, maximum := 0, 1<<31-1
		if limit.MinLength != nil {
			minimum = *limit.MinLength
		}
		if limit.MaxLength != nil {
			maximum = *limit.MaxLength
		}
		out = append(out, stringvalidator.LengthBetween(minimum, maximum))
	}
	if limit.Pattern != "" {
		out = append(out, stringvalidator.RegexMatches(regexp.MustCompile(limit.Pattern), "must match "+limit.Pattern))
	}
	return out
}

func int64Validators(field string) []validator.Int64 {
	limit := use(field, "int")
	var out []validator.Int64
	if limit.Minimum != nil {
		out = append(out, int64validator.AtLeast(int64(*limit.Minimum)))
	}
	if limit.Maximum != nil {
		out = append(out, int64validator.AtMost(int64(*limit.Maximum)))
	}
	return out
}

func listValidators(field string) []validator.List {
	limit := use(field, "list")
	var out []validator.List
	if limit.MinItems != nil {
		out = append(out, listvalidator.SizeAtLeast(*limit.MinItems))
	}
	if limit.MaxItems != nil {
		out = append(out, listvalidator.SizeAtMost(*limit.MaxItems))
	}
	return out
}

func setValidators(field string) []validator.Set {
	limit := use(field, "set")
	var out []validator.Set
	if limit.MinItems != nil {
		out = append(out, setvalidator.SizeAtLeast(*limit.MinItems))
	}
	if limit.MaxItems != nil {
		out = append(out, setvalidator.SizeAtMost(*limit.MaxItems))
	}
	return out
}

func stringDefault(field string) defaults.String {
	limit := limitOf(field)
	value, ok := limit.Default.(string)
	if !ok {
		panic(fmt.Sprintf("contract field %s has no string default", field))
	}
	return stringdefault.StaticString(value)
}

func int64Default(field string) defaults.Int64 {
	limit := limitOf(field)
	value, ok := limit.Default.(float64)
	if !ok {
		panic(fmt.Sprintf("contract field %s has no number default", field))
	}
	return int64default.StaticInt64(int64(value))
}

func boolDefault(field string) defaults.Bool {
	value, ok := limitOf(field).Default.(bool)
	if !ok {
		panic(fmt.Sprintf("contract field %s has no bool default", field))
	}
	return booldefault.StaticBool(value)
}

func stringListDefault(field string) defaults.List {
	raw, ok := limitOf(field).Default.([]any)
	if !ok {
		panic(fmt.Sprintf("contract field %s has no list default", field))
	}
	values := make([]attr.Value, len(raw))
	for i, v := range raw {
		values[i] = types.StringValue(fmt.Sprint(v))
	}
	return listdefault.StaticValue(types.ListValueMust(types.StringType, values))
}
