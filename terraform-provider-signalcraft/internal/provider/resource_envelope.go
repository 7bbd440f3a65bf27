package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/mapdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// kind describes one configurable SignalCraft collection as a Terraform resource. The generic resource below does
// the envelope (key, name, description, labels, manager, version/If-Match, 404 handling, import); a kind adds its
// spec attributes and, where the Terraform shape is flatter than the API's, the two conversions.
type kind struct {
	TypeName    string // resource type suffix: "escalation_policy"
	Collection  string // API collection: "escalation-policies"
	Title       string // "escalation policy"
	Description string
	Singleton   bool // the workspace: one object at /v1/workspace, no key
	Attributes  map[string]schema.Attribute
	Blocks      map[string]schema.Block
	// ToSpec turns the flat JSON of the spec attributes into the API's spec (nil: the same shape).
	ToSpec func(flat map[string]any) (map[string]any, error)
	// FromSpec turns the API's spec into flat attribute JSON; prior is the flat JSON of the state or plan it replaces.
	FromSpec func(spec map[string]any, prior map[string]any) map[string]any
	// Status copies server-owned values into computed attributes.
	Status func(env *Envelope, flat map[string]any)
	// Body adds write-only parts of the request (an integration's credentials).
	Body func(body map[string]any, flat map[string]any)
	// AfterWrite reads what only a separate call returns (an integration's webhook URL and keys).
	AfterWrite func(ctx context.Context, c *Client, env *Envelope, flat map[string]any) error
	// Kept are attributes whose value the API never returns: they stay as planned or as in the prior state.
	Kept []string
	// DataAttributes are the spec's string fields a data source exposes.
	DataAttributes []string

	schemaOnce sync.Once
	schema     schema.Schema
}

var envelopeNames = map[string]bool{"id": true, "key": true, "name": true, "description": true, "labels": true, "version": true}

func (k *kind) path(key string) string {
	if k.Singleton {
		return "/v1/workspace"
	}
	return "/v1/" + k.Collection + "/" + key
}

type envelopeResource struct {
	kind   *kind
	client *Client
}

var (
	_ resource.Resource                = (*envelopeResource)(nil)
	_ resource.ResourceWithImportState = (*envelopeResource)(nil)
	_ resource.ResourceWithConfigure   = (*envelopeResource)(nil)
)

func newEnvelopeResource(k *kind) func() resource.Resource {
	return func() resource.Resource { return &envelopeResource{kind: k} }
}

func (r *envelopeResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_" + r.kind.TypeName
}

func (r *envelopeResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	if req.ProviderData != nil {
		r.client = req.ProviderData.(*Client)
	}
}

func (r *envelopeResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	r.kind.schemaOnce.Do(func() { r.kind.schema = envelopeSchema(r.kind) })
	resp.Schema = r.kind.schema
}

// envelopeSchema is the kind's attributes plus the envelope every configurable resource shares.
func envelopeSchema(k *kind) schema.Schema {
	attributes := map[string]schema.Attribute{
		"id": schema.StringAttribute{
			Computed:            true,
			MarkdownDescription: "The server-assigned id (`" + k.Title + "` ids are stable for the object's life); what other resources reference.",
			PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
		},
		"description": schema.StringAttribute{
			Optional:            true,
			MarkdownDescription: "Free text about the " + k.Title + ".",
			Validators:          stringValidators("envelope.description"),
		},
		"labels": schema.MapAttribute{
			ElementType:         types.StringType,
			Optional:            true,
			Computed:            true,
			Default:             mapdefault.StaticValue(types.MapValueMust(types.StringType, map[string]attr.Value{})),
			MarkdownDescription: "Labels (Kubernetes-style keys), usable in the API's `label_selector`.",
		},
		"version": schema.Int64Attribute{
			Computed:            true,
			MarkdownDescription: "The object's version (its ETag); updates send it as `If-Match`, so a change made outside Terraform since the last refresh is refused instead of overwritten.",
		},
	}
	if k.Singleton {
		attributes["name"] = schema.StringAttribute{
			Optional:            true,
			MarkdownDescription: "The workspace's display name.",
			Validators:          stringValidators("envelope.display_name"),
		}
	} else {
		attributes["name"] = schema.StringAttribute{
			Required:            true,
			MarkdownDescription: "Human display name (spaces allowed, e.g. `Database SRE Policy`); may change in place.",
			Validators:          append([]validator.String{stringvalidator.LengthAtLeast(1)}, stringValidators("envelope.display_name")...),
		}
		attributes["key"] = schema.StringAttribute{
			Optional: true,
			Computed: true,
			MarkdownDescription: "The API's immutable name of the object (a DNS-1123 name, e.g. `database-sre-policy`). " +
				"Derived from `name` when not set (lowercased, runs of other characters become `-`, at most 63 " +
				"characters) and kept from then on, so renaming `name` never replaces the object. Changing `key` " +
				"replaces it. `terraform import` takes this key.",
			Validators:    stringValidators("envelope.name"),
			PlanModifiers: []planmodifier.String{keyFromName{}, stringplanmodifier.RequiresReplace()},
		}
	}
	for name, attribute := range k.Attributes {
		attributes[name] = attribute
	}
	return schema.Schema{MarkdownDescription: k.Description, Attributes: attributes, Blocks: k.Blocks}
}

// ------------------------------------------------------------------ conversions

// flatOf is the JSON of a plan, state or config object (unknown values left out).
func flatOf(raw tftypes.Value) (map[string]any, error) {
	if raw.IsNull() {
		return map[string]any{}, nil
	}
	j, err := toJSON(raw)
	if err != nil {
		return nil, err
	}
	flat, _ := j.(map[string]any)
	return flat, nil
}

func (r *envelopeResource) requestBody(flat map[string]any) (map[string]any, error) {
	specFlat := map[string]any{}
	for name, value := range flat {
		if !envelopeNames[name] {
			specFlat[name] = value
		}
	}
	for _, name := range r.kind.Kept {
		delete(specFlat, name)
	}
	spec := specFlat
	if r.kind.ToSpec != nil {
		var err error
		// a deep copy: the conversion may rewrite nested values, the caller's flat map stays as planned
		var copied map[string]any
		blob, _ := json.Marshal(specFlat)
		_ = json.Unmarshal(blob, &copied)
		if spec, err = r.kind.ToSpec(copied); err != nil {
			return nil, err
		}
	}
	body := map[string]any{"spec": spec, "labels": map[string]any{}}
	if v, ok := flat["name"]; ok {
		body["display_name"] = v
	}
	if v, ok := flat["description"]; ok {
		body["description"] = v
	}
	if v, ok := flat["labels"]; ok {
		body["labels"] = v
	}
	if r.kind.Body != nil {
		r.kind.Body(body, flat)
	}
	return body, nil
}

// stateValue builds the resource's Terraform value from the API's answer; prior is what it replaces.
func stateValue(ctx context.Context, s tfsdk.State, k *kind, env *Envelope, prior map[string]any, extra map[string]any) (tftypes.Value, error) {
	var flat map[string]any
	if k.FromSpec != nil {
		flat = k.FromSpec(env.Spec, prior)
	} else {
		flat = map[string]any{}
		for name, value := range env.Spec {
			flat[name] = value
		}
	}
	flat["id"] = env.ID
	if !k.Singleton {
		flat["key"] = env.Name
	}
	if env.DisplayName != nil {
		flat["name"] = *env.DisplayName
	}
	if env.Description != nil {
		flat["description"] = *env.Description
	}
	labels := map[string]any{}
	for key, value := range env.Labels {
		labels[key] = value
	}
	flat["labels"] = labels
	flat["version"] = env.Version
	if k.Status != nil {
		k.Status(env, flat)
	}
	for _, name := range k.Kept {
		if value, ok := prior[name]; ok {
			flat[name] = value
		}
	}
	for name, value := range extra {
		flat[name] = value
	}
	typ := s.Schema.Type().TerraformType(ctx)
	return fromJSON(typ, flat)
}

// ------------------------------------------------------------------ CRUD

func (r *envelopeResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	flat, err := flatOf(req.Plan.Raw)
	if err != nil {
		resp.Diagnostics.AddError("Reading the plan", err.Error())
		return
	}
	body, err := r.requestBody(flat)
	if err != nil {
		resp.Diagnostics.AddError("Invalid "+r.kind.Title, err.Error())
		return
	}
	key, _ := flat["key"].(string)
	var env *Envelope
	if r.kind.Singleton {
		// The workspace always exists: Terraform takes over its settings (a managed one only from the same identity).
		current, gerr := r.client.Get(ctx, r.kind.path(key))
		if gerr != nil {
			resp.Diagnostics.Append(explain(gerr, r.kind, key, r.client.Identity))
			return
		}
		env, err = r.client.Put(ctx, r.kind.path(key), body, false, current.Version)
	} else {
		env, err = r.client.Put(ctx, r.kind.path(key), body, true, 0)
	}
	if err != nil {
		resp.Diagnostics.Append(explain(err, r.kind, key, r.client.Identity))
		return
	}
	r.finish(ctx, env, flat, &resp.State, &resp.Diagnostics)
}

func (r *envelopeResource) finish(ctx context.Context, env *Envelope, prior map[string]any, state *tfsdk.State, diags *diag.Diagnostics) {
	extra := map[string]any{}
	if r.kind.AfterWrite != nil {
		if err := r.kind.AfterWrite(ctx, r.client, env, extra); err != nil {
			diags.AddError("Reading the "+r.kind.Title+"'s connection details", err.Error())
			return
		}
	}
	value, err := stateValue(ctx, *state, r.kind, env, prior, extra)
	if err != nil {
		diags.AddError("Converting the API's answer", err.Error())
		return
	}
	state.Raw = value
}

func (r *envelopeResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	prior, err := flatOf(req.State.Raw)
	if err != nil {
		resp.Diagnostics.AddError("Reading the state", err.Error())
		return
	}
	key, _ := prior["key"].(string)
	env, err := r.client.Get(ctx, r.kind.path(key))
	if IsStatus(err, http.StatusNotFound) {
		// Deleted outside Terraform: forget it, and the next plan creates it again.
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.Append(explain(err, r.kind, key, r.client.Identity))
		return
	}
	if env.Manager != nil && env.Manager.Identity != r.client.Identity {
		resp.Diagnostics.AddWarning(
			fmt.Sprintf("%s %q is managed by %s %q", r.kind.Title, key, env.Manager.Kind, env.Manager.Identity),
			"Another manager owns this object now; Terraform will not overwrite it (the next apply that changes it fails with an ownership conflict).",
		)
	}
	value, err := stateValue(ctx, resp.State, r.kind, env, prior, keptSecrets(r.kind, prior))
	if err != nil {
		resp.Diagnostics.AddError("Converting the API's answer", err.Error())
		return
	}
	resp.State.Raw = value
}

// keptSecrets are computed values only the write path reads (an integration's connection): a refresh keeps them.
func keptSecrets(k *kind, prior map[string]any) map[string]any {
	out := map[string]any{}
	if k.AfterWrite == nil {
		return out
	}
	for _, name := range []string{"webhook_url", "webhook_token", "integration_key"} {
		if v, ok := prior[name]; ok {
			out[name] = v
		}
	}
	return out
}

func (r *envelopeResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	flat, err := flatOf(req.Plan.Raw)
	if err != nil {
		resp.Diagnostics.AddError("Reading the plan", err.Error())
		return
	}
	prior, err := flatOf(req.State.Raw)
	if err != nil {
		resp.Diagnostics.AddError("Reading the state", err.Error())
		return
	}
	body, err := r.requestBody(flat)
	if err != nil {
		resp.Diagnostics.AddError("Invalid "+r.kind.Title, err.Error())
		return
	}
	key, _ := prior["key"].(string)
	version := int64(0)
	switch v := prior["version"].(type) {
	case int64:
		version = v
	case float64:
		version = int64(v)
	}
	env, err := r.client.Put(ctx, r.kind.path(key), body, false, version)
	if err != nil {
		resp.Diagnostics.Append(explain(err, r.kind, key, r.client.Identity))
		return
	}
	for name, value := range keptSecrets(r.kind, prior) {
		if _, ok := flat[name]; !ok {
			flat[name] = value
		}
	}
	r.finish(ctx, env, flat, &resp.State, &resp.Diagnostics)
}

func (r *envelopeResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	prior, err := flatOf(req.State.Raw)
	if err != nil {
		resp.Diagnostics.AddError("Reading the state", err.Error())
		return
	}
	key, _ := prior["key"].(string)
	if err := r.client.Delete(ctx, r.kind.path(key)); err != nil {
		resp.Diagnostics.Append(explain(err, r.kind, key, r.client.Identity))
	}
}

func (r *envelopeResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if r.kind.Singleton {
		resource.ImportStatePassthroughID(ctx, path.Root("id"), req, resp)
		return
	}
	resource.ImportStatePassthroughID(ctx, path.Root("key"), req, resp)
}

// ------------------------------------------------------------------ errors people can act on

func explain(err error, k *kind, key string, identity string) diag.Diagnostic {
	problem, ok := err.(*Problem)
	what := fmt.Sprintf("%s %q", k.Title, key)
	if k.Singleton {
		what = "the workspace"
	}
	if !ok {
		return diag.NewErrorDiagnostic("SignalCraft API request failed for "+what, err.Error())
	}
	switch {
	case problem.Status == http.StatusPreconditionFailed && problem.Code == "already-exists":
		return diag.NewErrorDiagnostic(
			what+" already exists in SignalCraft",
			fmt.Sprintf("Terraform creates only objects that do not exist yet. To manage the existing one, import it:\n  terraform import signalcraft_%s.<name> %s", k.TypeName, key),
		)
	case problem.Status == http.StatusPreconditionFailed:
		return diag.NewErrorDiagnostic(
			what+" was changed outside Terraform",
			"It changed in SignalCraft after Terraform last read it (its version is no longer the one in the state), so Terraform did not overwrite that change. Refresh and review: run `terraform plan` (or `terraform apply`) again.\n\n"+problem.Error(),
		)
	case problem.Status == http.StatusConflict && problem.Code == "ownership-conflict":
		owner := "another manager"
		if problem.CurrentManager != nil {
			owner = fmt.Sprintf("%s %q", problem.CurrentManager.Kind, problem.CurrentManager.Identity)
		}
		return diag.NewErrorDiagnostic(
			what+" is managed by "+owner,
			fmt.Sprintf("Terraform (manager identity %q) does not take over an object another manager owns. Have the owner release it (the operator does so for a custom resource with deletionPolicy: Orphan when it is deleted; or POST :release), then import it here.\n\n%s", identity, problem.Error()),
		)
	case problem.Status == http.StatusForbidden && problem.Code == "manager-kind-change":
		return diag.NewErrorDiagnostic(what+" belongs to another kind of manager", "Release it from its current manager first, then import it.\n\n"+problem.Error())
	case problem.Status == http.StatusConflict && problem.Code == "in-use":
		var users []string
		for _, ref := range problem.ReferencedBy {
			users = append(users, ref.Collection+"/"+ref.Name)
		}
		return diag.NewErrorDiagnostic(
			what+" is still used by "+strings.Join(users, ", "),
			"SignalCraft does not delete an object that others reference. Change or delete those first; when replacing an object that others reference, give it `lifecycle { create_before_destroy = true }` so the replacement exists (and the references move to it) before the old one is deleted.\n\n"+problem.Error(),
		)
	case problem.Status == http.StatusUnprocessableEntity:
		return diag.NewErrorDiagnostic("SignalCraft refused "+what, problem.Error())
	case problem.Status == http.StatusUnauthorized || problem.Status == http.StatusForbidden:
		return diag.NewErrorDiagnostic("Not allowed to manage "+what, "Check the provider's api_key and its scopes (Terraform needs <resource>:manage to set the manager).\n\n"+problem.Error())
	}
	return diag.NewErrorDiagnostic("SignalCraft API request failed for "+what, problem.Error())
}

// ------------------------------------------------------------------ the key plan modifier

// keyFromName fills an unset key: the prior state's key for an existing object (a rename of `name` keeps it),
// else the slug of `name`, so the plan shows the API name that will be created.
type keyFromName struct{}

func (keyFromName) Description(context.Context) string {
	return "Derives the key from name when not set, then keeps it."
}
func (m keyFromName) MarkdownDescription(ctx context.Context) string { return m.Description(ctx) }

func (keyFromName) PlanModifyString(ctx context.Context, req planmodifier.StringRequest, resp *planmodifier.StringResponse) {
	if !req.ConfigValue.IsNull() {
		return
	}
	if !req.StateValue.IsNull() && !req.StateValue.IsUnknown() {
		resp.PlanValue = req.StateValue
		return
	}
	var name types.String
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("name"), &name)...)
	if name.IsUnknown() || name.IsNull() {
		return
	}
	slug := Slugify(name.ValueString())
	if slug == "" {
		resp.Diagnostics.AddAttributeError(req.Path, "Cannot derive a key", fmt.Sprintf("name %q has no letters or digits to derive the API name from: set key explicitly.", name.ValueString()))
		return
	}
	resp.PlanValue = types.StringValue(slug)
}
