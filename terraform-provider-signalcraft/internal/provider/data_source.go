package provider

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// lookupDataSource finds one object of a collection by its key or by its display name (which must be unique).
type lookupDataSource struct {
	kind   *kind
	client *Client
}

func newLookupDataSource(k *kind) func() datasource.DataSource {
	return func() datasource.DataSource { return &lookupDataSource{kind: k} }
}

func (d *lookupDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_" + d.kind.TypeName
}

func (d *lookupDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, _ *datasource.ConfigureResponse) {
	if req.ProviderData != nil {
		d.client = req.ProviderData.(*Client)
	}
}

func (d *lookupDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	attributes := map[string]schema.Attribute{
		"key": schema.StringAttribute{
			Optional: true, Computed: true, MarkdownDescription: "The " + d.kind.Title + "'s key (API name); exactly one of `key` and `name`.",
			Validators: []validator.String{stringvalidator.ExactlyOneOf(path.MatchRoot("name"))},
		},
		"name": schema.StringAttribute{
			Optional: true, Computed: true, MarkdownDescription: "The " + d.kind.Title + "'s display name (must match exactly one).",
		},
		"id":          schema.StringAttribute{Computed: true, MarkdownDescription: "The server-assigned id."},
		"description": schema.StringAttribute{Computed: true, MarkdownDescription: "Description."},
		"version":     schema.Int64Attribute{Computed: true, MarkdownDescription: "Current version."},
	}
	for _, name := range d.kind.DataAttributes {
		attributes[name] = schema.StringAttribute{Computed: true, MarkdownDescription: "The " + d.kind.Title + "'s `" + name + "`."}
	}
	resp.Schema = schema.Schema{MarkdownDescription: "Looks up a " + d.kind.Title + " by key or display name.", Attributes: attributes}
}

func (d *lookupDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var key, name types.String
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("key"), &key)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("name"), &name)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var found *Envelope
	if !key.IsNull() {
		env, err := d.client.Get(ctx, d.kind.path(key.ValueString()))
		if IsStatus(err, http.StatusNotFound) {
			resp.Diagnostics.AddError("No such "+d.kind.Title, fmt.Sprintf("SignalCraft has no %s with key %q.", d.kind.Title, key.ValueString()))
			return
		}
		if err != nil {
			resp.Diagnostics.Append(explain(err, d.kind, key.ValueString(), d.client.Identity))
			return
		}
		found = env
	} else {
		all, err := d.client.List(ctx, d.kind.Collection, nil)
		if err != nil {
			resp.Diagnostics.Append(explain(err, d.kind, name.ValueString(), d.client.Identity))
			return
		}
		var matches []string
		for i := range all {
			if all[i].DisplayName != nil && *all[i].DisplayName == name.ValueString() {
				found = &all[i]
				matches = append(matches, all[i].Name)
			}
		}
		if len(matches) != 1 {
			resp.Diagnostics.AddError(
				fmt.Sprintf("%d %ss are named %q", len(matches), d.kind.Title, name.ValueString()),
				"A lookup by display name needs exactly one match; look it up by key instead. Matches: "+strings.Join(matches, ", "),
			)
			return
		}
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("key"), found.Name)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), found.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), found.DisplayName)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("description"), found.Description)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("version"), found.Version)...)
	for _, attribute := range d.kind.DataAttributes {
		value, _ := found.Spec[attribute].(string)
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root(attribute), value)...)
	}
}
