package provider

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/setplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

var serviceAccountKind = &kind{TypeName: "service_account", Title: "service account"}
var apiKeyKind = &kind{TypeName: "api_key", Title: "API key"}

// ------------------------------------------------------------------ service account

type serviceAccountResource struct{ client *Client }

type serviceAccountModel struct {
	ID          types.String `tfsdk:"id"`
	Name        types.String `tfsdk:"name"`
	Description types.String `tfsdk:"description"`
	Disabled    types.Bool   `tfsdk:"disabled"`
	CreatedAt   types.String `tfsdk:"created_at"`
}

type serviceAccountJSON struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Disabled    bool   `json:"disabled"`
	CreatedAt   string `json:"created_at"`
}

func newServiceAccountResource() resource.Resource { return &serviceAccountResource{} }

func (r *serviceAccountResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_service_account"
}

func (r *serviceAccountResource) Configure(_ context.Context, req resource.ConfigureRequest, _ *resource.ConfigureResponse) {
	if req.ProviderData != nil {
		r.client = req.ProviderData.(*Client)
	}
}

func (r *serviceAccountResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	resp.Schema = schema.Schema{
		MarkdownDescription: "A non-human principal that holds API keys (no login). The API has no update of the name or " +
			"description, so changing them replaces the account; `disabled` changes in place (every key of a disabled " +
			"account is refused). Service accounts carry no `manager` block in API v1.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "Server id.", PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"name": schema.StringAttribute{
				Required: true, MarkdownDescription: "The account's name (DNS-style, immutable: changing it replaces the account). Import takes it.",
				Validators: stringValidators("service-accounts.name"), PlanModifiers: replace,
			},
			"description": schema.StringAttribute{
				Optional: true, Computed: true, Default: stringDefault("service-accounts.description"),
				MarkdownDescription: "What the account is for (changing it replaces the account).",
				Validators:          stringValidators("service-accounts.description"), PlanModifiers: replace,
			},
			"disabled": schema.BoolAttribute{
				Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "A disabled account's keys are refused (401) until it is enabled again.",
			},
			"created_at": schema.StringAttribute{Computed: true, MarkdownDescription: "Creation time (RFC 3339).", PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
		},
	}
}

func (m *serviceAccountModel) set(a serviceAccountJSON) {
	m.ID, m.Name, m.Description = types.StringValue(a.ID), types.StringValue(a.Name), types.StringValue(a.Description)
	m.Disabled, m.CreatedAt = types.BoolValue(a.Disabled), types.StringValue(a.CreatedAt)
}

func (r *serviceAccountResource) setDisabled(ctx context.Context, name string, disabled bool) (serviceAccountJSON, error) {
	action := ":enable"
	if disabled {
		action = ":disable"
	}
	var out serviceAccountJSON
	_, err := r.client.Do(ctx, http.MethodPost, "/v1/service-accounts/"+name+action, nil, nil, nil, &out)
	return out, err
}

func (r *serviceAccountResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan serviceAccountModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	name := plan.Name.ValueString()
	var created serviceAccountJSON
	body := map[string]any{"name": name, "description": plan.Description.ValueString()}
	// A retried create must not make two accounts: the API replays an Idempotency-Key's first answer.
	headers := map[string]string{"Idempotency-Key": "terraform-" + randomToken()}
	if _, err := r.client.Do(ctx, http.MethodPost, "/v1/service-accounts", nil, headers, body, &created); err != nil {
		if IsStatus(err, http.StatusConflict) {
			resp.Diagnostics.AddError(fmt.Sprintf("service account %q already exists", name),
				fmt.Sprintf("Import it to manage it: terraform import signalcraft_service_account.<name> %s", name))
			return
		}
		resp.Diagnostics.Append(explain(err, serviceAccountKind, name, r.client.Identity))
		return
	}
	if plan.Disabled.ValueBool() {
		var err error
		if created, err = r.setDisabled(ctx, name, true); err != nil {
			resp.Diagnostics.Append(explain(err, serviceAccountKind, name, r.client.Identity))
			return
		}
	}
	plan.set(created)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *serviceAccountResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state serviceAccountModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var current serviceAccountJSON
	_, err := r.client.Do(ctx, http.MethodGet, "/v1/service-accounts/"+state.Name.ValueString(), nil, nil, nil, &current)
	if IsStatus(err, http.StatusNotFound) {
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.Append(explain(err, serviceAccountKind, state.Name.ValueString(), r.client.Identity))
		return
	}
	state.set(current)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *serviceAccountResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan serviceAccountModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	updated, err := r.setDisabled(ctx, plan.Name.ValueString(), plan.Disabled.ValueBool())
	if err != nil {
		resp.Diagnostics.Append(explain(err, serviceAccountKind, plan.Name.ValueString(), r.client.Identity))
		return
	}
	plan.set(updated)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *serviceAccountResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state serviceAccountModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	_, err := r.client.Do(ctx, http.MethodDelete, "/v1/service-accounts/"+state.Name.ValueString(), nil, nil, nil, nil)
	if err != nil && !IsStatus(err, http.StatusNotFound) {
		resp.Diagnostics.Append(explain(err, serviceAccountKind, state.Name.ValueString(), r.client.Identity))
	}
}

func (r *serviceAccountResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resource.ImportStatePassthroughID(ctx, path.Root("name"), req, resp)
}

// ------------------------------------------------------------------ API key

type apiKeyResource struct{ client *Client }

type apiKeyModel struct {
	ID             types.String `tfsdk:"id"`
	ServiceAccount types.String `tfsdk:"service_account"`
	Name           types.String `tfsdk:"name"`
	Scopes         types.Set    `tfsdk:"scopes"`
	ExpiresAt      types.String `tfsdk:"expires_at"`
	Prefix         types.String `tfsdk:"prefix"`
	Key            types.String `tfsdk:"key"`
	CreatedAt      types.String `tfsdk:"created_at"`
}

type apiKeyJSON struct {
	ID             string   `json:"id"`
	Name           string   `json:"name"`
	ServiceAccount string   `json:"service_account"`
	Prefix         string   `json:"prefix"`
	Scopes         []string `json:"scopes"`
	CreatedAt      string   `json:"created_at"`
	ExpiresAt      *string  `json:"expires_at"`
	RevokedAt      *string  `json:"revoked_at"`
	Key            *string  `json:"key"`
}

func newAPIKeyResource() resource.Resource { return &apiKeyResource{} }

func (r *apiKeyResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_api_key"
}

func (r *apiKeyResource) Configure(_ context.Context, req resource.ConfigureRequest, _ *resource.ConfigureResponse) {
	if req.ProviderData != nil {
		r.client = req.ProviderData.(*Client)
	}
}

func (r *apiKeyResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	keep := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	resp.Schema = schema.Schema{
		MarkdownDescription: "An API key of a service account. The key is shown once, when it is created: Terraform keeps " +
			"it in the state as a sensitive value (protect the state). Keys are immutable, so every change replaces the " +
			"key (a new key, the old one revoked); destroying revokes it. Rotate with `terraform apply -replace`.",
		Attributes: map[string]schema.Attribute{
			"id":              schema.StringAttribute{Computed: true, MarkdownDescription: "Key id.", PlanModifiers: keep},
			"service_account": schema.StringAttribute{Required: true, MarkdownDescription: "The service account's name.", Validators: stringValidators("service-accounts.name"), PlanModifiers: replace},
			"name": schema.StringAttribute{
				Optional: true, Computed: true, Default: stringDefault("api-keys.name"), MarkdownDescription: "A label for the key.",
				Validators: stringValidators("api-keys.name"), PlanModifiers: replace,
			},
			"scopes": schema.SetAttribute{
				ElementType: types.StringType, Required: true,
				MarkdownDescription: "Scopes, `<resource>:read|write|manage`, `integrations:read_secrets`, `events:write` or `*`; only scopes the provider's own key holds.",
				Validators:          append(setValidators("api-keys.scopes"), setvalidator.ValueStringsAre(stringValidators("api-keys.scopes[]")...)),
				PlanModifiers:       []planmodifier.Set{setplanmodifier.RequiresReplace()},
			},
			"expires_at": schema.StringAttribute{
				Optional: true, MarkdownDescription: "Expiry, RFC 3339 UTC (`2027-01-01T00:00:00Z`); none when not set.",
				Validators: stringValidators("api-keys.expires_at"), PlanModifiers: replace,
			},
			"prefix":     schema.StringAttribute{Computed: true, MarkdownDescription: "The key's public prefix (to match a leaked key to its record).", PlanModifiers: keep},
			"key":        schema.StringAttribute{Computed: true, Sensitive: true, MarkdownDescription: "The key itself, known only from the create (null after an import).", PlanModifiers: keep},
			"created_at": schema.StringAttribute{Computed: true, MarkdownDescription: "Creation time.", PlanModifiers: keep},
		},
	}
}

func (m *apiKeyModel) set(ctx context.Context, k apiKeyJSON) {
	m.ID, m.ServiceAccount, m.Name = types.StringValue(k.ID), types.StringValue(k.ServiceAccount), types.StringValue(k.Name)
	m.Scopes, _ = types.SetValueFrom(ctx, types.StringType, k.Scopes)
	m.ExpiresAt = types.StringPointerValue(k.ExpiresAt)
	m.Prefix, m.CreatedAt = types.StringValue(k.Prefix), types.StringValue(k.CreatedAt)
	if k.Key != nil {
		m.Key = types.StringValue(*k.Key)
	}
}

func (r *apiKeyResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan apiKeyModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var scopes []string
	resp.Diagnostics.Append(plan.Scopes.ElementsAs(ctx, &scopes, false)...)
	body := map[string]any{"name": plan.Name.ValueString(), "scopes": scopes}
	if !plan.ExpiresAt.IsNull() {
		body["expires_at"] = plan.ExpiresAt.ValueString()
	}
	account := plan.ServiceAccount.ValueString()
	var created apiKeyJSON
	if _, err := r.client.Do(ctx, http.MethodPost, "/v1/service-accounts/"+account+"/api-keys", nil, nil, body, &created); err != nil {
		resp.Diagnostics.Append(explain(err, apiKeyKind, account+"/"+plan.Name.ValueString(), r.client.Identity))
		return
	}
	plan.set(ctx, created)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *apiKeyResource) find(ctx context.Context, account, id string) (*apiKeyJSON, error) {
	cursor := ""
	for {
		query := url.Values{"limit": []string{"500"}}
		if cursor != "" {
			query.Set("cursor", cursor)
		}
		var page struct {
			Items      []apiKeyJSON `json:"items"`
			NextCursor *string      `json:"next_cursor"`
		}
		if _, err := r.client.Do(ctx, http.MethodGet, "/v1/service-accounts/"+account+"/api-keys", query, nil, nil, &page); err != nil {
			return nil, err
		}
		for i := range page.Items {
			if page.Items[i].ID == id {
				return &page.Items[i], nil
			}
		}
		if page.NextCursor == nil {
			return nil, nil
		}
		cursor = *page.NextCursor
	}
}

func (r *apiKeyResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state apiKeyModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	found, err := r.find(ctx, state.ServiceAccount.ValueString(), state.ID.ValueString())
	if IsStatus(err, http.StatusNotFound) || (err == nil && (found == nil || found.RevokedAt != nil)) {
		// Revoked or gone (with its account): the next plan issues a new key.
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.Append(explain(err, apiKeyKind, state.ID.ValueString(), r.client.Identity))
		return
	}
	state.set(ctx, *found)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *apiKeyResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	// Every attribute replaces the key; nothing changes in place.
	var plan apiKeyModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *apiKeyResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state apiKeyModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	_, err := r.client.Do(ctx, http.MethodPost, "/v1/api-keys/"+state.ID.ValueString()+":revoke", nil, nil, nil, nil)
	if err != nil && !IsStatus(err, http.StatusNotFound) {
		resp.Diagnostics.Append(explain(err, apiKeyKind, state.ID.ValueString(), r.client.Identity))
	}
}

// ImportState takes `<service account>/<key id>`; the key itself cannot be imported (it was shown only once).
func (r *apiKeyResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	account, id, ok := strings.Cut(req.ID, "/")
	if !ok || account == "" || id == "" {
		resp.Diagnostics.AddError("Import id", "Use <service account name>/<key id>, e.g. ci/key_0123456789abcdef.")
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("service_account"), account)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), id)...)
}

func randomToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
