{{/* Names, labels and the rendered configuration files of the slo-exporter chart. */}}

{{- define "slo-exporter.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full name: release-chart, or the release alone when it already contains the chart name. */}}
{{- define "slo-exporter.fullname" -}}
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

{{- define "slo-exporter.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "slo-exporter.selectorLabels" -}}
app.kubernetes.io/name: {{ include "slo-exporter.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "slo-exporter.labels" -}}
helm.sh/chart: {{ include "slo-exporter.chart" . }}
{{ include "slo-exporter.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: slo-exporter
{{- end -}}

{{- define "slo-exporter.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "slo-exporter.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "slo-exporter.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* Where files are mounted in the exporter container. */}}
{{- define "slo-exporter.configDir" -}}/etc/slo-exporter/config{{- end -}}
{{- define "slo-exporter.secretsDir" -}}/etc/slo-exporter/secrets{{- end -}}
{{- define "slo-exporter.webDir" -}}/etc/slo-exporter/web{{- end -}}
{{- define "slo-exporter.webTLSDir" -}}/etc/slo-exporter/web-tls{{- end -}}

{{/* The configuration ConfigMap's name: the chart's, or existingConfigMap. */}}
{{- define "slo-exporter.configMapName" -}}
{{- default (include "slo-exporter.fullname" .) .Values.config.existingConfigMap -}}
{{- end -}}

{{/* True (non-empty) when the exporter gets a --web.config.file. */}}
{{- define "slo-exporter.webConfigEnabled" -}}
{{- if or .Values.web.existingSecret .Values.web.tls.enabled .Values.web.basicAuth.users -}}true{{- end -}}
{{- end -}}

{{/* True (non-empty) when the chart writes the web configuration itself. */}}
{{- define "slo-exporter.webConfigGenerated" -}}
{{- if and (include "slo-exporter.webConfigEnabled" .) (not .Values.web.existingSecret) -}}true{{- end -}}
{{- end -}}

{{- define "slo-exporter.webConfigSecretName" -}}
{{- default (printf "%s-web-config" (include "slo-exporter.fullname" .)) .Values.web.existingSecret -}}
{{- end -}}

{{- define "slo-exporter.webConfigKey" -}}
{{- if .Values.web.existingSecret -}}{{ .Values.web.existingSecretKey }}{{- else -}}web-config.yml{{- end -}}
{{- end -}}

{{- define "slo-exporter.scheme" -}}
{{- if .Values.web.tls.enabled -}}HTTPS{{- else -}}HTTP{{- end -}}
{{- end -}}

{{/*
Fails the render when a secret value is written inline in config.prometheus:
it would be stored in a ConfigMap, readable by anyone who can read ConfigMaps.
*/}}
{{- define "slo-exporter.rejectInlineSecrets" -}}
{{- $p := . -}}
{{- $hint := "put it in a Secret and use the chart's prometheus.basicAuth / prometheus.authorization / prometheus.tls settings (mounted as files), see docs/deploy.md" -}}
{{- with $p.basic_auth -}}
{{- if .password -}}{{- fail (printf "config.prometheus.basic_auth.password is set inline and would be stored in a ConfigMap; %s" $hint) -}}{{- end -}}
{{- end -}}
{{- with $p.authorization -}}
{{- if .credentials -}}{{- fail (printf "config.prometheus.authorization.credentials is set inline and would be stored in a ConfigMap; %s" $hint) -}}{{- end -}}
{{- end -}}
{{- if $p.bearer_token -}}{{- fail (printf "config.prometheus.bearer_token is set inline and would be stored in a ConfigMap; %s" $hint) -}}{{- end -}}
{{- with $p.oauth2 -}}
{{- if .client_secret -}}{{- fail (printf "config.prometheus.oauth2.client_secret is set inline and would be stored in a ConfigMap; mount a Secret with extraVolumes and use oauth2.client_secret_file (see docs/deploy.md)") -}}{{- end -}}
{{- end -}}
{{- with $p.tls_config -}}
{{- if .key -}}{{- fail (printf "config.prometheus.tls_config.key is set inline and would be stored in a ConfigMap; %s" $hint) -}}{{- end -}}
{{- end -}}
{{- range $name, $h := ($p.http_headers | default dict) -}}
{{- if and (kindIs "map" $h) $h.secrets -}}{{- fail (printf "config.prometheus.http_headers.%s.secrets is set inline and would be stored in a ConfigMap; mount a Secret with extraVolumes and use http_headers.%s.files (see docs/deploy.md)" $name $name) -}}{{- end -}}
{{- end -}}
{{- end -}}

{{/*
The prometheus section of config.yaml: config.prometheus with the credential
files of prometheus.* wired in.
*/}}
{{- define "slo-exporter.prometheusClient" -}}
{{- $p := deepCopy (.Values.config.prometheus | default dict) -}}
{{- include "slo-exporter.rejectInlineSecrets" $p -}}
{{- if not $p.url -}}{{- fail "config.prometheus.url is required: the Prometheus (or compatible) API the exporter queries, e.g. http://prometheus-operated.monitoring.svc:9090" -}}{{- end -}}
{{- $dir := include "slo-exporter.secretsDir" . -}}
{{- $ba := .Values.prometheus.basicAuth -}}
{{- $az := .Values.prometheus.authorization -}}
{{- $tls := .Values.prometheus.tls -}}
{{- if and $ba.existingSecret $az.existingSecret -}}
{{- fail "prometheus.basicAuth.existingSecret and prometheus.authorization.existingSecret are both set; the Prometheus client takes one of basic auth or an Authorization header" -}}
{{- end -}}
{{- if $ba.existingSecret -}}
{{- if $p.basic_auth -}}{{- fail "config.prometheus.basic_auth and prometheus.basicAuth.existingSecret are both set; keep prometheus.basicAuth only" -}}{{- end -}}
{{- $auth := dict "password_file" (printf "%s/prometheus-basic-auth/%s" $dir $ba.passwordKey) -}}
{{- if $ba.usernameKey -}}
{{- $_ := set $auth "username_file" (printf "%s/prometheus-basic-auth/%s" $dir $ba.usernameKey) -}}
{{- else if $ba.username -}}
{{- $_ := set $auth "username" $ba.username -}}
{{- else -}}
{{- fail "prometheus.basicAuth.existingSecret is set but neither prometheus.basicAuth.username nor prometheus.basicAuth.usernameKey is" -}}
{{- end -}}
{{- $_ := set $p "basic_auth" $auth -}}
{{- end -}}
{{- if $az.existingSecret -}}
{{- if $p.authorization -}}{{- fail "config.prometheus.authorization and prometheus.authorization.existingSecret are both set; keep prometheus.authorization only" -}}{{- end -}}
{{- $_ := set $p "authorization" (dict "type" ($az.type | default "Bearer") "credentials_file" (printf "%s/prometheus-authorization/%s" $dir $az.credentialsKey)) -}}
{{- end -}}
{{- if $tls.existingSecret -}}
{{- $t := deepCopy ($p.tls_config | default dict) -}}
{{- if $tls.caKey -}}{{- $_ := set $t "ca_file" (printf "%s/prometheus-tls/%s" $dir $tls.caKey) -}}{{- end -}}
{{- if and $tls.certKey (not $tls.keyKey) -}}{{- fail "prometheus.tls.certKey is set without prometheus.tls.keyKey; a client certificate needs its key" -}}{{- end -}}
{{- if and $tls.keyKey (not $tls.certKey) -}}{{- fail "prometheus.tls.keyKey is set without prometheus.tls.certKey; a client key needs its certificate" -}}{{- end -}}
{{- if $tls.certKey -}}
{{- $_ := set $t "cert_file" (printf "%s/prometheus-tls/%s" $dir $tls.certKey) -}}
{{- $_ := set $t "key_file" (printf "%s/prometheus-tls/%s" $dir $tls.keyKey) -}}
{{- end -}}
{{- $_ := set $p "tls_config" $t -}}
{{- end -}}
{{- toYaml $p -}}
{{- end -}}

{{/* The whole config.yaml. Its sha256 rolls the pods when it changes. */}}
{{- define "slo-exporter.config" -}}
{{- if not .Values.config.slos -}}
{{- fail "config.slos is empty: the exporter refuses a configuration without SLOs. Add SLOs to config.slos (see docs/deploy.md) or name your own ConfigMap in config.existingConfigMap" -}}
{{- end -}}
{{- $cfg := dict "prometheus" (include "slo-exporter.prometheusClient" . | fromYaml) "slos" (.Values.config.slos | default list) -}}
{{- with .Values.config.global -}}{{- $_ := set $cfg "global" . -}}{{- end -}}
{{- toYaml $cfg -}}
{{- end -}}

{{/* The web configuration file the chart writes (exporter-toolkit format). */}}
{{- define "slo-exporter.webConfig" -}}
{{- $w := dict -}}
{{- if .Values.web.tls.enabled -}}
{{- if not .Values.web.tls.existingSecret -}}{{- fail "web.tls.enabled is true but web.tls.existingSecret is empty; name a kubernetes.io/tls Secret (tls.crt, tls.key)" -}}{{- end -}}
{{- $dir := include "slo-exporter.webTLSDir" . -}}
{{- $_ := set $w "tls_server_config" (dict "cert_file" (printf "%s/tls.crt" $dir) "key_file" (printf "%s/tls.key" $dir) "min_version" (.Values.web.tls.minVersion | default "VersionTLS12")) -}}
{{- end -}}
{{- with .Values.web.basicAuth.users -}}
{{- range $user, $hash := . -}}
{{- if not (regexMatch "^\\$2[aby]?\\$" (toString $hash)) -}}{{- fail (printf "web.basicAuth.users.%s is not a bcrypt hash (want $2y$...); store hashes, never passwords (htpasswd -nBC 10 %s)" $user $user) -}}{{- end -}}
{{- end -}}
{{- $_ := set $w "basic_auth_users" . -}}
{{- end -}}
{{- toYaml $w -}}
{{- end -}}

{{/* One probe: httpGet on path with the chart's port, scheme and headers. */}}
{{- define "slo-exporter.probe" -}}
{{- $root := index . 0 -}}
{{- $p := index . 1 -}}
httpGet:
  path: {{ $p.path }}
  port: metrics
  scheme: {{ include "slo-exporter.scheme" $root }}
  {{- with $root.Values.probes.httpHeaders }}
  httpHeaders:
    {{- toYaml . | nindent 4 }}
  {{- end }}
periodSeconds: {{ $p.periodSeconds }}
timeoutSeconds: {{ $p.timeoutSeconds }}
failureThreshold: {{ $p.failureThreshold }}
{{- end -}}

{{/*
The exporter container's resources: .Values.resources, whose memory request
and limit are computed from sizing.groups when it is above 0: request
baseMiB + groups x kibPerGroup / 1024, limit limitPercent of the request
(docs/deploy.md#sizing).
*/}}
{{- define "slo-exporter.resources" -}}
{{- $r := deepCopy (.Values.resources | default dict) -}}
{{- $s := .Values.sizing -}}
{{- $groups := int64 ($s.groups | default 0) -}}
{{- if gt $groups 0 -}}
{{- $req := add (int64 $s.baseMiB) (div (mul $groups (int64 $s.kibPerGroup)) 1024) -}}
{{- $lim := div (mul $req (int64 $s.limitPercent)) 100 -}}
{{- $_ := set $r "requests" (merge (dict "memory" (printf "%dMi" $req)) (omit ($r.requests | default dict) "memory")) -}}
{{- $_ := set $r "limits" (merge (dict "memory" (printf "%dMi" $lim)) (omit ($r.limits | default dict) "memory")) -}}
{{- end -}}
{{- toYaml $r -}}
{{- end -}}
