{{- define "signalcraft.name" -}}signalcraft-operator{{- end }}

{{- define "signalcraft.fullname" -}}
{{- if contains "signalcraft" .Release.Name -}}{{ .Release.Name | trunc 50 | trimSuffix "-" }}{{- else -}}{{ printf "%s-signalcraft" .Release.Name | trunc 50 | trimSuffix "-" }}{{- end -}}
{{- end }}

{{- define "signalcraft.labels" -}}
app.kubernetes.io/name: {{ include "signalcraft.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: signalcraft
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end }}

{{- define "signalcraft.selector" -}}
app.kubernetes.io/name: {{ include "signalcraft.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "signalcraft.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{- define "signalcraft.operatorServiceAccount" -}}{{ include "signalcraft.fullname" . }}-operator{{- end }}
{{- define "signalcraft.webhookServiceAccount" -}}{{ include "signalcraft.fullname" . }}-webhook{{- end }}

{{- /* The namespaces the operator watches in namespaced mode: watchNamespaces, or the release's own. */}}
{{- define "signalcraft.watchedNamespaces" -}}
{{- join "," (.Values.watchNamespaces | default (list .Release.Namespace)) }}
{{- end }}

{{- define "signalcraft.kinds" -}}alertpolicies,escalationpolicies,integrations,routingrules,schedules,teams,users{{- end }}

{{- define "signalcraft.apiServerName" -}}{{ include "signalcraft.fullname" . }}-api{{- end }}

{{/* The API the operator and the webhook talk to: api.url, else the API server this release deploys. */}}
{{- define "signalcraft.apiUrl" -}}
{{- if .Values.api.url -}}
{{ .Values.api.url }}
{{- else if .Values.api.enabled -}}
http://{{ include "signalcraft.apiServerName" . }}.{{ .Release.Namespace }}.svc:{{ .Values.api.service.port }}
{{- else -}}
{{ required (printf "api.url is required: the SignalCraft API the %s talks to (or api.enabled=true to deploy one)" .component) "" }}
{{- end -}}
{{- end }}
