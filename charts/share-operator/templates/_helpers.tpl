{{/* Object names: the release name, plus the chart name unless it already contains it. */}}
{{- define "share-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "share-operator.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The name of a component object: "<fullname>-<suffix>", within 63 characters. */}}
{{- define "share-operator.componentname" -}}
{{- printf "%s-%s" (include "share-operator.fullname" .root | trunc (int (sub 62 (len .suffix))) | trimSuffix "-") .suffix -}}
{{- end -}}

{{- define "share-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "share-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "share-operator.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "share-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/*
The rules of a role in config/rbac, which hack/chart-sync.sh (make chart)
copies to files/rbac/<name>.yaml: the chart never lists rules of its own, so
they cannot drift from what controller-gen makes of the RBAC markers.
Call with (dict "root" $ "name" "role").
*/}}
{{- define "share-operator.roleFile" -}}
{{- $path := printf "files/rbac/%s.yaml" .name -}}
{{- $doc := .root.Files.Get $path | fromYaml -}}
{{- if or (not $doc) (hasKey $doc "Error") (not $doc.rules) -}}
{{- fail (printf "%s is missing or has no rules: run make chart" $path) -}}
{{- end -}}
{{- toYaml $doc -}}
{{- end -}}

{{- define "share-operator.rules" -}}
{{- (include "share-operator.roleFile" . | fromYaml).rules | toYaml -}}
{{- end -}}

{{/* The push-key listener's external URL: pushKey.baseURL, else the Ingress host. */}}
{{- define "share-operator.pushKeyBaseURL" -}}
{{- $pk := .Values.pushKey -}}
{{- if $pk.baseURL -}}
{{- $pk.baseURL -}}
{{- else if and $pk.ingress.enabled $pk.ingress.host -}}
{{- printf "%s://%s" (ternary "https" "http" $pk.ingress.tls.enabled) $pk.ingress.host -}}
{{- end -}}
{{- end -}}

{{/* The watched namespaces, validated and without duplicates. */}}
{{- define "share-operator.watchNamespaces" -}}
{{- range .Values.watchNamespaces -}}
{{- if not (regexMatch "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" (toString .)) -}}
{{- fail (printf "watchNamespaces: %q is not a namespace name" (toString .)) -}}
{{- end -}}
{{- end -}}
{{- .Values.watchNamespaces | uniq | join "," -}}
{{- end -}}
