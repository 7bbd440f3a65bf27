package provider

import (
	"context"
	"net/http"
	"os"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// DefaultIdentity is the manager identity when the configuration names none: objects this provider writes carry
// `manager: {kind: terraform, identity: ...}`, and SignalCraft refuses writes from any other manager.
const DefaultIdentity = "terraform://default"

type signalcraftProvider struct{ version string }

type providerModel struct {
	APIURL          types.String `tfsdk:"api_url"`
	APIKey          types.String `tfsdk:"api_key"`
	ManagerIdentity types.String `tfsdk:"manager_identity"`
	MaxRetries      types.Int64  `tfsdk:"max_retries"`
}

// New returns the provider factory for this version.
func New(version string) func() provider.Provider {
	return func() provider.Provider { return &signalcraftProvider{version: version} }
}

func (p *signalcraftProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "signalcraft"
	resp.Version = p.version
}

func (p *signalcraftProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Manage SignalCraft (API v1) as code: the workspace, users, teams, schedules, escalation " +
			"policies, alert policies, routing rules, integrations, service accounts and API keys.",
		Attributes: map[string]schema.Attribute{
			"api_url": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "Base URL of the SignalCraft API, e.g. `https://signalcraft.example.com`. Environment: `SIGNALCRAFT_API_URL`.",
			},
			"api_key": schema.StringAttribute{
				Optional:            true,
				Sensitive:           true,
				MarkdownDescription: "API key (`sc_...`) with `<resource>:manage` scopes (and `integrations:read_secrets` for integrations). Environment: `SIGNALCRAFT_API_KEY`.",
			},
			"manager_identity": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Who owns what this configuration creates, e.g. `terraform://monitoring-config/prod`. " +
					"Two configurations with different identities cannot overwrite each other's objects, nor the operator's. " +
					"Environment: `SIGNALCRAFT_MANAGER_IDENTITY`; default `" + DefaultIdentity + "`.",
			},
			"max_retries": schema.Int64Attribute{
				Optional:            true,
				MarkdownDescription: "Retries of a request answered 429 or 503 (each waits at least the `Retry-After` the API sent). Default 8.",
			},
		},
	}
}

func firstSet(value types.String, env string, fallback string) string {
	if !value.IsNull() && !value.IsUnknown() && value.ValueString() != "" {
		return value.ValueString()
	}
	if v := os.Getenv(env); v != "" {
		return v
	}
	return fallback
}

func (p *signalcraftProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var config providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}
	client := &Client{
		BaseURL:      firstSet(config.APIURL, "SIGNALCRAFT_API_URL", ""),
		APIKey:       firstSet(config.APIKey, "SIGNALCRAFT_API_KEY", ""),
		Identity:     firstSet(config.ManagerIdentity, "SIGNALCRAFT_MANAGER_IDENTITY", DefaultIdentity),
		HTTP:         &http.Client{Timeout: 60 * time.Second},
		MaxRetries:   8,
		MaxRetryWait: 60 * time.Second,
		UserAgent:    "terraform-provider-signalcraft/" + p.version,
	}
	if !config.MaxRetries.IsNull() && !config.MaxRetries.IsUnknown() {
		client.MaxRetries = int(config.MaxRetries.ValueInt64())
	}
	if client.BaseURL == "" {
		resp.Diagnostics.AddError("Missing api_url", "Set api_url in the provider block or SIGNALCRAFT_API_URL.")
	}
	if client.APIKey == "" {
		resp.Diagnostics.AddError("Missing api_key", "Set api_key in the provider block or SIGNALCRAFT_API_KEY.")
	}
	resp.ResourceData = client
	resp.DataSourceData = client
}

func (p *signalcraftProvider) Resources(context.Context) []func() resource.Resource {
	out := []func() resource.Resource{newServiceAccountResource, newAPIKeyResource}
	for _, k := range envelopeKinds {
		out = append(out, newEnvelopeResource(k))
	}
	return out
}

func (p *signalcraftProvider) DataSources(context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{
		newLookupDataSource(userKind), newLookupDataSource(teamKind), newLookupDataSource(scheduleKind),
		newLookupDataSource(escalationPolicyKind), newLookupDataSource(integrationKind),
	}
}
