package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
	_ "time/tzdata" // IANA zone names are checked at plan time on any machine

	"github.com/hashicorp/terraform-plugin-framework-timetypes/timetypes"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/listdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// ------------------------------------------------------------------ shared pieces

func enumText(field string) string {
	return "One of `" + strings.Join(limitOf(field).Enum, "`, `") + "`."
}

// zoneValidator accepts IANA time zone names, as the API does.
type zoneValidator struct{}

func (zoneValidator) Description(context.Context) string             { return "an IANA time zone name" }
func (v zoneValidator) MarkdownDescription(c context.Context) string { return v.Description(c) }
func (zoneValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if _, err := time.LoadLocation(req.ConfigValue.ValueString()); err != nil || req.ConfigValue.ValueString() == "Local" {
		resp.Diagnostics.AddAttributeError(req.Path, "Unknown time zone", fmt.Sprintf("%q is not an IANA time zone name (e.g. UTC, Europe/Berlin).", req.ConfigValue.ValueString()))
	}
}

func withZone(v []validator.String) []validator.String { return append(v, zoneValidator{}) }

func stringList(field string) []validator.List {
	return append(listValidators(field), listvalidator.ValueStringsAre(stringValidators(field+"[]")...))
}

func items(flat map[string]any, name string) []map[string]any {
	raw, _ := flat[name].([]any)
	out := make([]map[string]any, 0, len(raw))
	for _, item := range raw {
		if m, ok := item.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func anyList[T any](values []T) []any {
	out := make([]any, len(values))
	for i, v := range values {
		out[i] = v
	}
	return out
}

// ------------------------------------------------------------------ user

var userKind = &kind{
	TypeName:   "user",
	Collection: "users",
	Title:      "user",
	Description: "A person in SignalCraft. Creating a user invites them (`invite_state` is `invited` until they first sign in); " +
		"the role says what they may do. A user that an escalation target, a schedule layer or a team names cannot be deleted " +
		"until those references go (the API answers 409 `in-use` and lists them).",
	Attributes: map[string]schema.Attribute{
		"email": schema.StringAttribute{
			Required: true, MarkdownDescription: "Email address the invitation goes to; unique in the workspace.",
			Validators: stringValidators("users.email"),
		},
		"role": schema.StringAttribute{
			Optional: true, Computed: true, Default: stringDefault("users.role"),
			MarkdownDescription: "What the user may do. " + enumText("users.role") + " Defaults to `responder`.",
			Validators:          stringValidators("users.role"),
		},
		"time_zone": schema.StringAttribute{
			Optional: true, MarkdownDescription: "The user's IANA time zone; the workspace's when not set.",
			Validators: withZone(stringValidators("users.time_zone")),
		},
		"invite_state": schema.StringAttribute{
			Computed: true, MarkdownDescription: "`invited` until the user first signs in, then `active` (server-owned).",
		},
	},
	Status: func(env *Envelope, flat map[string]any) {
		if state, ok := env.Status["invite_state"]; ok {
			flat["invite_state"] = state
		}
	},
	DataAttributes: []string{"email", "role"},
}

// ------------------------------------------------------------------ team

var teamKind = &kind{
	TypeName:   "team",
	Collection: "teams",
	Title:      "team",
	Description: "A group of users (alert-group assignees, escalation targets). Members are listed in order; each names a " +
		"user by its key and must exist.",
	Blocks: map[string]schema.Block{
		"members": schema.ListNestedBlock{
			MarkdownDescription: "The team's members, in order.",
			Validators:          listValidators("teams.members"),
			NestedObject: schema.NestedBlockObject{Attributes: map[string]schema.Attribute{
				"user": schema.StringAttribute{
					Required: true, MarkdownDescription: "The member's user key (`signalcraft_user.x.key`).",
					Validators: stringValidators("teams.members[].user"),
				},
				"role": schema.StringAttribute{
					Optional: true, Computed: true, Default: stringDefault("teams.members[].role"),
					MarkdownDescription: enumText("teams.members[].role") + " Defaults to `member`.",
					Validators:          stringValidators("teams.members[].role"),
				},
			}},
		},
	},
}

// ------------------------------------------------------------------ schedule

var scheduleKind = &kind{
	TypeName:   "schedule",
	Collection: "schedules",
	Title:      "schedule",
	Description: "An on-call rotation. Layers are stored exactly as written: a `start` in the past stays where it is, and " +
		"adding a member to a layer changes nothing else, so the rotation does not restart. `start` is any RFC 3339 time; " +
		"the API stores it in UTC and Terraform compares instants, so `2026-01-05T10:00:00+01:00` and " +
		"`2026-01-05T09:00:00Z` are the same and never show a diff.",
	Attributes: map[string]schema.Attribute{
		"time_zone": schema.StringAttribute{
			Optional: true, Computed: true, Default: stringDefault("schedules.time_zone"),
			MarkdownDescription: "IANA time zone the rotation's hand-offs are shown in. Defaults to `UTC`.",
			Validators:          withZone(stringValidators("schedules.time_zone")),
		},
		"handoff_notifications": schema.StringAttribute{
			Optional: true, Computed: true, Default: stringDefault("schedules.handoff_notifications"),
			MarkdownDescription: "When on-call hand-offs are announced. " + enumText("schedules.handoff_notifications"),
			Validators:          stringValidators("schedules.handoff_notifications"),
		},
	},
	Blocks: map[string]schema.Block{
		"layers": schema.ListNestedBlock{
			MarkdownDescription: "Rotation layers; later layers take precedence over earlier ones.",
			Validators:          listValidators("schedules.layers"),
			NestedObject: schema.NestedBlockObject{Attributes: map[string]schema.Attribute{
				"name": schema.StringAttribute{
					Required: true, MarkdownDescription: "The layer's name.",
					Validators: stringValidators("schedules.layers[].name"),
				},
				"start": schema.StringAttribute{
					CustomType: timetypes.RFC3339Type{}, Required: true,
					MarkdownDescription: "When the rotation starts (RFC 3339, any offset; seconds precision). A start in the past is kept as written.",
				},
				"rotation_turn_length_seconds": schema.Int64Attribute{
					Required: true, MarkdownDescription: "Length of one member's turn, in seconds (1 hour to 1 year).",
					Validators: int64Validators("schedules.layers[].rotation_turn_length_seconds"),
				},
				"users": schema.ListAttribute{
					ElementType: types.StringType, Required: true,
					MarkdownDescription: "The rotation's members (user keys), in turn order.",
					Validators:          stringList("schedules.layers[].users"),
				},
			}},
		},
	},
	ToSpec: func(flat map[string]any) (map[string]any, error) {
		for i, layer := range items(flat, "layers") {
			start, _ := layer["start"].(string)
			moment, err := time.Parse(time.RFC3339, start)
			if err != nil {
				return nil, fmt.Errorf("layers[%d].start: %q is not an RFC 3339 time", i, start)
			}
			if moment.Nanosecond() != 0 {
				return nil, fmt.Errorf("layers[%d].start: the API keeps whole seconds; %q has a fraction", i, start)
			}
			layer["start"] = moment.UTC().Format("2006-01-02T15:04:05Z")
		}
		return flat, nil
	},
	// The same instant as written (any offset) is kept as written: no diff between +01:00 and the API's UTC form.
	FromSpec: func(spec map[string]any, prior map[string]any) map[string]any {
		flat := map[string]any{}
		for name, value := range spec {
			flat[name] = value
		}
		before := items(prior, "layers")
		for i, layer := range items(spec, "layers") {
			if i < len(before) && sameInstant(before[i]["start"], layer["start"]) {
				layer["start"] = before[i]["start"]
			}
		}
		return flat
	},
	DataAttributes: []string{"time_zone"},
}

func sameInstant(a, b any) bool {
	left, lok := a.(string)
	right, rok := b.(string)
	if !lok || !rok {
		return false
	}
	l, lerr := time.Parse(time.RFC3339, left)
	r, rerr := time.Parse(time.RFC3339, right)
	return lerr == nil && rerr == nil && l.Equal(r)
}

// ------------------------------------------------------------------ escalation policy

var escalationPolicyKind = &kind{
	TypeName:   "escalation_policy",
	Collection: "escalation-policies",
	Title:      "escalation policy",
	Description: "Who is notified, in which order, after which delay. Rules and their targets keep the order written, " +
		"and every target states its `type` (there is no default type to get wrong). Targets name an existing user, " +
		"schedule or team by `id` (or by `name`, the target's key).",
	Attributes: map[string]schema.Attribute{
		"num_loops": schema.Int64Attribute{
			Optional: true, Computed: true, Default: int64Default("escalation-policies.num_loops"),
			MarkdownDescription: "How many times the whole policy repeats when nobody acknowledges (0–9).",
			Validators:          int64Validators("escalation-policies.num_loops"),
		},
	},
	Blocks: map[string]schema.Block{
		"rules": schema.ListNestedBlock{
			MarkdownDescription: "Ordered escalation steps; the first runs when an alert fires.",
			Validators:          listValidators("escalation-policies.rules"),
			NestedObject: schema.NestedBlockObject{
				Attributes: map[string]schema.Attribute{
					"delay_minutes": schema.Int64Attribute{
						Required: true, MarkdownDescription: "Minutes after the previous rule (or the alert) before this rule notifies.",
						Validators: int64Validators("escalation-policies.rules[].delay_minutes"),
					},
				},
				Blocks: map[string]schema.Block{
					"targets": schema.ListNestedBlock{
						MarkdownDescription: "Who this rule notifies, in order.",
						Validators:          listValidators("escalation-policies.rules[].targets"),
						NestedObject: schema.NestedBlockObject{Attributes: map[string]schema.Attribute{
							"type": schema.StringAttribute{
								Required: true, MarkdownDescription: "What the target is. " + enumText("escalation-policies.rules[].targets[].type") + " Required: never defaulted.",
								Validators: stringValidators("escalation-policies.rules[].targets[].type"),
							},
							"id": schema.StringAttribute{
								Optional: true, MarkdownDescription: "The target's id (e.g. `signalcraft_schedule.x.id`); exactly one of `id` and `name`.",
								Validators: append(stringValidators("escalation-policies.rules[].targets[].id"),
									stringvalidator.ExactlyOneOf(path.MatchRelative().AtParent().AtName("name"))),
							},
							"name": schema.StringAttribute{
								Optional: true, MarkdownDescription: "The target's key (its API name).",
								Validators: stringValidators("escalation-policies.rules[].targets[].name"),
							},
						}},
					},
				},
			},
		},
	},
}

// ------------------------------------------------------------------ alert policy

var alertPolicyKind = &kind{
	TypeName:    "alert_policy",
	Collection:  "alert-policies",
	Title:       "alert policy",
	Description: "Where events land: a routing key, a severity, metric conditions and the escalation policy that is paged.",
	Attributes: map[string]schema.Attribute{
		"severity": schema.StringAttribute{
			Required: true, MarkdownDescription: enumText("alert-policies.severity"),
			Validators: stringValidators("alert-policies.severity"),
		},
		"routing_key": schema.StringAttribute{
			Required: true, MarkdownDescription: "The routing key events are sent with (PagerDuty Events v2 `routing_key`).",
			Validators: stringValidators("alert-policies.routing_key"),
		},
		"escalation_policy_id": schema.StringAttribute{
			Optional: true, MarkdownDescription: "The escalation policy paged (`signalcraft_escalation_policy.x.id`).",
			Validators: stringValidators("alert-policies.escalation_policy.id"),
		},
	},
	Blocks: map[string]schema.Block{
		"conditions": schema.ListNestedBlock{
			MarkdownDescription: "Metric thresholds (all must hold).",
			Validators:          listValidators("alert-policies.conditions"),
			NestedObject: schema.NestedBlockObject{Attributes: map[string]schema.Attribute{
				"metric": schema.StringAttribute{Required: true, MarkdownDescription: "Metric name.", Validators: stringValidators("alert-policies.conditions[].metric")},
				"operator": schema.StringAttribute{
					Required: true, MarkdownDescription: enumText("alert-policies.conditions[].operator"),
					Validators: stringValidators("alert-policies.conditions[].operator"),
				},
				"value": schema.Float64Attribute{Required: true, MarkdownDescription: "Threshold."},
				"for_duration": schema.StringAttribute{
					Optional: true, MarkdownDescription: "How long the condition must hold (API field `for`), e.g. `5m`.",
					Validators: stringValidators("alert-policies.conditions[].for"),
				},
			}},
		},
	},
	ToSpec: func(flat map[string]any) (map[string]any, error) {
		spec := map[string]any{"severity": flat["severity"], "routing_key": flat["routing_key"]}
		if id, ok := flat["escalation_policy_id"]; ok {
			spec["escalation_policy"] = map[string]any{"id": id}
		}
		conditions := []any{}
		for _, c := range items(flat, "conditions") {
			condition := map[string]any{"type": "metric_threshold", "metric": c["metric"], "operator": c["operator"], "value": c["value"]}
			if d, ok := c["for_duration"]; ok {
				condition["for"] = d
			}
			conditions = append(conditions, condition)
		}
		spec["conditions"] = conditions
		return spec, nil
	},
	FromSpec: func(spec map[string]any, _ map[string]any) map[string]any {
		flat := map[string]any{"severity": spec["severity"], "routing_key": spec["routing_key"]}
		if ref, ok := spec["escalation_policy"].(map[string]any); ok {
			flat["escalation_policy_id"] = ref["id"]
		}
		conditions := []any{}
		for _, c := range items(spec, "conditions") {
			condition := map[string]any{"metric": c["metric"], "operator": c["operator"], "value": c["value"]}
			if d, ok := c["for"]; ok {
				condition["for_duration"] = d
			}
			conditions = append(conditions, condition)
		}
		flat["conditions"] = conditions
		return flat
	},
}

// ------------------------------------------------------------------ routing rule

var routingRuleKind = &kind{
	TypeName:   "routing_rule",
	Collection: "routing-rules",
	Title:      "routing rule",
	Description: "If an event from an integration matches the conditions, apply the actions. Rules run by ascending " +
		"`priority` (then key); the first match wins. Conditions keep the order written.",
	Attributes: map[string]schema.Attribute{
		"priority": schema.Int64Attribute{
			Optional: true, Computed: true, Default: int64Default("routing-rules.priority"),
			MarkdownDescription: "Lower runs first.", Validators: int64Validators("routing-rules.priority"),
		},
		"match": schema.StringAttribute{
			Optional: true, Computed: true, Default: stringDefault("routing-rules.conditions.match"),
			MarkdownDescription: "Whether `all` or `any` of the conditions must hold.",
			Validators:          stringValidators("routing-rules.conditions.match"),
		},
		"alert_policy_id": schema.StringAttribute{
			Optional: true, MarkdownDescription: "Route matching events to this alert policy (`signalcraft_alert_policy.x.id`).",
			Validators: stringValidators("routing-rules.actions.alert_policy.id"),
		},
		"severity": schema.StringAttribute{
			Optional: true, MarkdownDescription: "Set the event's severity. " + enumText("routing-rules.actions.severity"),
			Validators: stringValidators("routing-rules.actions.severity"),
		},
		"suppress": schema.BoolAttribute{
			Optional: true, Computed: true, Default: boolDefault("routing-rules.actions.suppress"),
			MarkdownDescription: "Drop matching events.",
		},
	},
	Blocks: map[string]schema.Block{
		"conditions": schema.ListNestedBlock{
			MarkdownDescription: "Tests on the incoming event.",
			Validators:          listValidators("routing-rules.conditions.items"),
			NestedObject: schema.NestedBlockObject{Attributes: map[string]schema.Attribute{
				"field": schema.StringAttribute{
					Required: true, MarkdownDescription: enumText("routing-rules.conditions.items[].field"),
					Validators: stringValidators("routing-rules.conditions.items[].field"),
				},
				"key": schema.StringAttribute{
					Optional: true, MarkdownDescription: "The label's key (only with field `labels`).",
					Validators: stringValidators("routing-rules.conditions.items[].key"),
				},
				"operator": schema.StringAttribute{
					Required: true, MarkdownDescription: enumText("routing-rules.conditions.items[].operator"),
					Validators: stringValidators("routing-rules.conditions.items[].operator"),
				},
				"value": schema.StringAttribute{
					Optional: true, MarkdownDescription: "The operand (not with `exists` or `in`).",
					Validators: stringValidators("routing-rules.conditions.items[].value"),
				},
				"values": schema.ListAttribute{
					ElementType: types.StringType, Optional: true, Computed: true,
					Default:             listdefault.StaticValue(types.ListValueMust(types.StringType, nil)),
					MarkdownDescription: "The operands of `in`.",
					Validators:          []validator.List{listvalidator.ValueStringsAre(stringValidators("routing-rules.conditions.items[].value[]")...)},
				},
			}},
		},
	},
	ToSpec: func(flat map[string]any) (map[string]any, error) {
		conditions := []any{}
		for _, c := range items(flat, "conditions") {
			condition := map[string]any{"field": c["field"], "operator": c["operator"]}
			if k, ok := c["key"]; ok {
				condition["key"] = k
			}
			if values, _ := c["values"].([]any); len(values) > 0 || c["operator"] == "in" {
				if values == nil {
					values = []any{}
				}
				condition["value"] = values
			} else if v, ok := c["value"]; ok {
				condition["value"] = v
			}
			conditions = append(conditions, condition)
		}
		actions := map[string]any{"suppress": flat["suppress"]}
		if id, ok := flat["alert_policy_id"]; ok {
			actions["alert_policy"] = map[string]any{"id": id}
		}
		if s, ok := flat["severity"]; ok {
			actions["severity"] = s
		}
		return map[string]any{
			"priority":   flat["priority"],
			"conditions": map[string]any{"match": flat["match"], "items": conditions},
			"actions":    actions,
		}, nil
	},
	FromSpec: func(spec map[string]any, _ map[string]any) map[string]any {
		flat := map[string]any{"priority": spec["priority"]}
		group, _ := spec["conditions"].(map[string]any)
		flat["match"] = group["match"]
		conditions := []any{}
		for _, c := range items(group, "items") {
			condition := map[string]any{"field": c["field"], "operator": c["operator"], "values": []any{}}
			if k, ok := c["key"]; ok {
				condition["key"] = k
			}
			switch v := c["value"].(type) {
			case []any:
				condition["values"] = v
			case string:
				condition["value"] = v
			}
			conditions = append(conditions, condition)
		}
		flat["conditions"] = conditions
		actions, _ := spec["actions"].(map[string]any)
		flat["suppress"] = actions["suppress"]
		if ref, ok := actions["alert_policy"].(map[string]any); ok {
			flat["alert_policy_id"] = ref["id"]
		}
		if s, ok := actions["severity"]; ok {
			flat["severity"] = s
		}
		return flat
	},
}

// ------------------------------------------------------------------ integration

func settingsKey(integrationType any) string {
	return strings.ReplaceAll(fmt.Sprint(integrationType), "-", "_")
}

// canonicalJSON is the form jsonencode() produces too (sorted keys, no spaces), so equal settings compare equal.
func canonicalJSON(value any) string {
	blob, _ := json.Marshal(value)
	return string(blob)
}

var integrationKind = &kind{
	TypeName:   "integration",
	Collection: "integrations",
	Title:      "integration",
	Description: "An alert source (Alertmanager, Grafana, CloudWatch, ...) or a ticketing link (Jira, ServiceNow). The " +
		"webhook URL, its token and the integration key are generated by SignalCraft and kept in the state as " +
		"sensitive values; `credentials` are write-only (the API never returns them).",
	Attributes: map[string]schema.Attribute{
		"type": schema.StringAttribute{
			Required: true, MarkdownDescription: "The source or ticket system; changing it replaces the integration. " + enumText("integrations.type"),
			Validators:    stringValidators("integrations.type"),
			PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
		},
		"settings": schema.StringAttribute{
			Optional: true,
			MarkdownDescription: "The type's settings as JSON (`jsonencode({...})`), e.g. for `jira`: `base_url`, " +
				"`project_key`. Settings the API defaults and the configuration does not name are not compared.",
		},
		"credentials": schema.MapAttribute{
			ElementType: types.StringType, Optional: true, Sensitive: true,
			MarkdownDescription: "Write-only secrets (API tokens, HMAC secret, passwords); sent on every write, never read back.",
		},
		"webhook_url": schema.StringAttribute{
			Computed: true, Sensitive: true, MarkdownDescription: "Where the monitoring source posts (embeds the token).",
			PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
		},
		"webhook_token": schema.StringAttribute{
			Computed: true, Sensitive: true, MarkdownDescription: "The webhook URL's token.",
			PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
		},
		"integration_key": schema.StringAttribute{
			Computed: true, Sensitive: true, MarkdownDescription: "Routing key for the Events API (PagerDuty Events v2 `routing_key`).",
			PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
		},
	},
	Kept: []string{"credentials", "webhook_url", "webhook_token", "integration_key"},
	ToSpec: func(flat map[string]any) (map[string]any, error) {
		spec := map[string]any{"type": flat["type"]}
		if text, ok := flat["settings"].(string); ok && text != "" {
			var settings any
			if err := json.Unmarshal([]byte(text), &settings); err != nil {
				return nil, fmt.Errorf("settings is not JSON: %w", err)
			}
			spec[settingsKey(flat["type"])] = settings
		}
		return spec, nil
	},
	FromSpec: func(spec map[string]any, prior map[string]any) map[string]any {
		flat := map[string]any{"type": spec["type"]}
		settings, ok := spec[settingsKey(spec["type"])].(map[string]any)
		if !ok {
			return flat
		}
		if text, had := prior["settings"].(string); had {
			var named map[string]any
			if json.Unmarshal([]byte(text), &named) == nil {
				kept := map[string]any{}
				for key := range named {
					if value, present := settings[key]; present {
						kept[key] = value
					}
				}
				settings = kept
			}
		}
		flat["settings"] = canonicalJSON(settings)
		return flat
	},
	Body: func(body map[string]any, flat map[string]any) {
		if credentials, ok := flat["credentials"]; ok {
			body["credentials"] = credentials
		}
	},
	AfterWrite: func(ctx context.Context, c *Client, env *Envelope, extra map[string]any) error {
		var connection struct {
			WebhookURL     string `json:"webhook_url"`
			WebhookToken   string `json:"webhook_token"`
			IntegrationKey string `json:"integration_key"`
		}
		if _, err := c.Do(ctx, http.MethodGet, "/v1/integrations/"+env.Name+"/connection", nil, nil, nil, &connection); err != nil {
			return fmt.Errorf("%w (the provider's key needs integrations:read_secrets)", err)
		}
		extra["webhook_url"], extra["webhook_token"], extra["integration_key"] = connection.WebhookURL, connection.WebhookToken, connection.IntegrationKey
		return nil
	},
	DataAttributes: []string{"type"},
}

// ------------------------------------------------------------------ workspace

var workspaceKind = &kind{
	TypeName:   "workspace",
	Collection: "workspace",
	Title:      "workspace",
	Singleton:  true,
	Description: "The workspace's settings (one per SignalCraft). Creating the resource takes the settings over; " +
		"destroying it resets them to the defaults. Import with `terraform import signalcraft_workspace.this workspace`.",
	Attributes: map[string]schema.Attribute{
		"time_zone": schema.StringAttribute{
			Optional: true, Computed: true, Default: stringDefault("workspace.time_zone"),
			MarkdownDescription: "Default IANA time zone for people and schedules. Defaults to `UTC`.",
			Validators:          withZone(stringValidators("workspace.time_zone")),
		},
		"default_severity": schema.StringAttribute{
			Optional: true, Computed: true, Default: stringDefault("workspace.default_severity"),
			MarkdownDescription: "Severity of events that carry none. " + enumText("workspace.default_severity"),
			Validators:          stringValidators("workspace.default_severity"),
		},
		"notification_channels": schema.ListAttribute{
			ElementType: types.StringType, Optional: true, Computed: true,
			Default:             stringListDefault("workspace.notifications.channels"),
			MarkdownDescription: "How people are notified by default. Each " + strings.TrimSuffix(enumText("workspace.notifications.channels[]"), ".") + ".",
			Validators:          stringList("workspace.notifications.channels"),
		},
		"reminder_minutes": schema.Int64Attribute{
			Optional: true, Computed: true, Default: int64Default("workspace.notifications.reminder_minutes"),
			MarkdownDescription: "Re-notify an unacknowledged alert after this many minutes (0 = never).",
			Validators:          int64Validators("workspace.notifications.reminder_minutes"),
		},
		"notify_on_resolve": schema.BoolAttribute{
			Optional: true, Computed: true, Default: boolDefault("workspace.notifications.notify_on_resolve"),
			MarkdownDescription: "Notify when an alert resolves.",
		},
	},
	ToSpec: func(flat map[string]any) (map[string]any, error) {
		return map[string]any{
			"time_zone":        flat["time_zone"],
			"default_severity": flat["default_severity"],
			"notifications": map[string]any{
				"channels":          flat["notification_channels"],
				"reminder_minutes":  flat["reminder_minutes"],
				"notify_on_resolve": flat["notify_on_resolve"],
			},
		}, nil
	},
	FromSpec: func(spec map[string]any, _ map[string]any) map[string]any {
		notifications, _ := spec["notifications"].(map[string]any)
		return map[string]any{
			"time_zone":             spec["time_zone"],
			"default_severity":      spec["default_severity"],
			"notification_channels": notifications["channels"],
			"reminder_minutes":      notifications["reminder_minutes"],
			"notify_on_resolve":     notifications["notify_on_resolve"],
		}
	},
}

var envelopeKinds = []*kind{workspaceKind, userKind, teamKind, scheduleKind, escalationPolicyKind, alertPolicyKind, routingRuleKind, integrationKind}

var _ = anyList[string]
