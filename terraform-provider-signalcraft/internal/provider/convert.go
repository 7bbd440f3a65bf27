package provider

import (
	"fmt"
	"math/big"
	"regexp"
	"strings"

	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// The provider's attributes carry the API's own snake_case field names, so most of a spec converts generically
// between Terraform values and JSON; each kind only renames what it flattens (see kinds.go).

// toJSON turns a known Terraform value into JSON data; null attributes are left out of objects.
func toJSON(v tftypes.Value) (any, error) {
	if v.IsNull() {
		return nil, nil
	}
	if !v.IsKnown() {
		return nil, fmt.Errorf("value not known yet")
	}
	typ := v.Type()
	switch {
	case typ.Is(tftypes.String):
		var s string
		err := v.As(&s)
		return s, err
	case typ.Is(tftypes.Bool):
		var b bool
		err := v.As(&b)
		return b, err
	case typ.Is(tftypes.Number):
		var n big.Float
		if err := v.As(&n); err != nil {
			return nil, err
		}
		if n.IsInt() {
			i, _ := n.Int64()
			return i, nil
		}
		f, _ := n.Float64()
		return f, nil
	case typ.Is(tftypes.List{}), typ.Is(tftypes.Set{}), typ.Is(tftypes.Tuple{}):
		var items []tftypes.Value
		if err := v.As(&items); err != nil {
			return nil, err
		}
		out := make([]any, 0, len(items))
		for _, item := range items {
			j, err := toJSON(item)
			if err != nil {
				return nil, err
			}
			out = append(out, j)
		}
		return out, nil
	case typ.Is(tftypes.Map{}), typ.Is(tftypes.Object{}):
		var fields map[string]tftypes.Value
		if err := v.As(&fields); err != nil {
			return nil, err
		}
		out := make(map[string]any, len(fields))
		for name, field := range fields {
			if field.IsNull() || !field.IsKnown() {
				continue // unset, or computed by the server
			}
			j, err := toJSON(field)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			out[name] = j
		}
		return out, nil
	}
	return nil, fmt.Errorf("unsupported type %s", typ)
}

// fromJSON builds a Terraform value of type typ from JSON data. Absent values are null, except lists, which are
// empty: blocks are never null, and every list attribute is required or has a default.
func fromJSON(typ tftypes.Type, j any) (tftypes.Value, error) {
	switch t := typ.(type) {
	case tftypes.List:
		items, _ := j.([]any)
		values := make([]tftypes.Value, 0, len(items))
		for i, item := range items {
			v, err := fromJSON(t.ElementType, item)
			if err != nil {
				return tftypes.Value{}, fmt.Errorf("[%d]: %w", i, err)
			}
			values = append(values, v)
		}
		return tftypes.NewValue(t, values), nil
	case tftypes.Map:
		if j == nil {
			return tftypes.NewValue(t, nil), nil
		}
		entries, _ := j.(map[string]any)
		values := make(map[string]tftypes.Value, len(entries))
		for k, item := range entries {
			v, err := fromJSON(t.ElementType, item)
			if err != nil {
				return tftypes.Value{}, err
			}
			values[k] = v
		}
		return tftypes.NewValue(t, values), nil
	case tftypes.Object:
		if j == nil {
			return tftypes.NewValue(t, nil), nil
		}
		fields, ok := j.(map[string]any)
		if !ok {
			return tftypes.Value{}, fmt.Errorf("expected an object, got %T", j)
		}
		values := make(map[string]tftypes.Value, len(t.AttributeTypes))
		for name, attrType := range t.AttributeTypes {
			v, err := fromJSON(attrType, fields[name])
			if err != nil {
				return tftypes.Value{}, fmt.Errorf("%s: %w", name, err)
			}
			values[name] = v
		}
		return tftypes.NewValue(t, values), nil
	}
	if j == nil {
		return tftypes.NewValue(typ, nil), nil
	}
	switch {
	case typ.Is(tftypes.String):
		s, ok := j.(string)
		if !ok {
			return tftypes.Value{}, fmt.Errorf("expected a string, got %T", j)
		}
		return tftypes.NewValue(typ, s), nil
	case typ.Is(tftypes.Bool):
		b, ok := j.(bool)
		if !ok {
			return tftypes.Value{}, fmt.Errorf("expected a bool, got %T", j)
		}
		return tftypes.NewValue(typ, b), nil
	case typ.Is(tftypes.Number):
		switch n := j.(type) {
		case float64:
			return tftypes.NewValue(typ, new(big.Float).SetFloat64(n)), nil
		case int64:
			return tftypes.NewValue(typ, new(big.Float).SetInt64(n)), nil
		case int:
			return tftypes.NewValue(typ, new(big.Float).SetInt64(int64(n))), nil
		}
		return tftypes.Value{}, fmt.Errorf("expected a number, got %T", j)
	}
	return tftypes.Value{}, fmt.Errorf("unsupported type %s", typ)
}

var nonKey = regexp.MustCompile(`[^a-z0-9]+`)

// Slugify derives an API name (a DNS-1123 label, at most 63 characters) from a display name:
// "Database SRE Policy" → "database-sre-policy".
func Slugify(display string) string {
	slug := nonKey.ReplaceAllString(strings.ToLower(display), "-")
	slug = strings.Trim(slug, "-")
	if len(slug) > 63 {
		slug = strings.TrimRight(slug[:63], "-")
	}
	return slug
}
