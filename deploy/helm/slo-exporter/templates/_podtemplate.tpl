{{/*
The exporter's pod template, shared by the Deployment (one shard) and the
sharded StatefulSets.
*/}}
{{- define "slo-exporter.podTemplate" -}}
{{- $secrets := include "slo-exporter.secretsDir" . -}}
metadata:
  labels:
    {{- include "slo-exporter.labels" . | nindent 4 }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    {{- if not .Values.config.existingConfigMap }}
    checksum/config: {{ printf "%s\n" (include "slo-exporter.config" .) | sha256sum }}
    {{- end }}
    {{- if include "slo-exporter.webConfigGenerated" . }}
    checksum/web-config: {{ printf "%s\n" (include "slo-exporter.webConfig" .) | sha256sum }}
    {{- end }}
    {{- with .Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "slo-exporter.serviceAccountName" . }}
  automountServiceAccountToken: {{ .Values.serviceAccount.automountServiceAccountToken }}
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
  securityContext:
    {{- toYaml .Values.podSecurityContext | nindent 4 }}
  containers:
    - name: slo-exporter
      image: {{ include "slo-exporter.image" . | quote }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      args:
        - serve
        - --config.file={{ include "slo-exporter.configDir" . }}/config.yaml
        - --web.listen-address=:{{ .Values.containerPort }}
        - --log.format={{ .Values.log.format }}
        - --log.level={{ .Values.log.level }}
        {{- if include "slo-exporter.webConfigEnabled" . }}
        - --web.config.file={{ include "slo-exporter.webDir" . }}/{{ include "slo-exporter.webConfigKey" . }}
        {{- end }}
        {{- if .Values.web.enableLifecycle }}
        - --web.enable-lifecycle
        {{- end }}
        - --web.metrics-profile={{ .Values.metricsProfile }}
        {{- if gt (int .Values.sharding.shards) 1 }}
        - --shard=$(SLO_EXPORTER_SHARD_INDEX)/{{ .Values.sharding.shards }}
        {{- end }}
        {{- range .Values.extraArgs }}
        - {{ . | quote }}
        {{- end }}
      {{- if or .Values.env (gt (int .Values.sharding.shards) 1) }}
      env:
        {{- if gt (int .Values.sharding.shards) 1 }}
        # The StatefulSet's pod index (Kubernetes 1.28+) is the shard.
        - name: SLO_EXPORTER_SHARD_INDEX
          valueFrom:
            fieldRef:
              fieldPath: metadata.labels['apps.kubernetes.io/pod-index']
        {{- end }}
        {{- with .Values.env }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- end }}
      ports:
        - name: metrics
          containerPort: {{ .Values.containerPort }}
          protocol: TCP
      startupProbe:
        {{- include "slo-exporter.probe" (list . .Values.probes.startup) | nindent 8 }}
      livenessProbe:
        {{- include "slo-exporter.probe" (list . .Values.probes.liveness) | nindent 8 }}
      readinessProbe:
        {{- include "slo-exporter.probe" (list . .Values.probes.readiness) | nindent 8 }}
      securityContext:
        {{- toYaml .Values.securityContext | nindent 8 }}
      resources:
        {{- include "slo-exporter.resources" . | nindent 8 }}
      volumeMounts:
        - name: config
          mountPath: {{ include "slo-exporter.configDir" . }}
          readOnly: true
        - name: tmp
          mountPath: /tmp
        {{- if .Values.prometheus.basicAuth.existingSecret }}
        - name: prometheus-basic-auth
          mountPath: {{ $secrets }}/prometheus-basic-auth
          readOnly: true
        {{- end }}
        {{- if .Values.prometheus.authorization.existingSecret }}
        - name: prometheus-authorization
          mountPath: {{ $secrets }}/prometheus-authorization
          readOnly: true
        {{- end }}
        {{- if .Values.prometheus.tls.existingSecret }}
        - name: prometheus-tls
          mountPath: {{ $secrets }}/prometheus-tls
          readOnly: true
        {{- end }}
        {{- if include "slo-exporter.webConfigEnabled" . }}
        - name: web-config
          mountPath: {{ include "slo-exporter.webDir" . }}
          readOnly: true
        {{- end }}
        {{- if .Values.web.tls.existingSecret }}
        - name: web-tls
          mountPath: {{ include "slo-exporter.webTLSDir" . }}
          readOnly: true
        {{- end }}
        {{- with .Values.extraVolumeMounts }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
  volumes:
    # Mounted as a directory, not with subPath, so that edits of the
    # ConfigMap and Secrets reach the running pod (then POST /-/reload,
    # with web.enableLifecycle).
    - name: config
      configMap:
        name: {{ include "slo-exporter.configMapName" . }}
        items:
          - key: {{ ternary .Values.config.existingConfigMapKey "config.yaml" (not (empty .Values.config.existingConfigMap)) }}
            path: config.yaml
    - name: tmp
      emptyDir:
        sizeLimit: 16Mi
    {{- with .Values.prometheus.basicAuth }}
    {{- if .existingSecret }}
    - name: prometheus-basic-auth
      secret:
        secretName: {{ .existingSecret }}
        defaultMode: 0440
        items:
          - key: {{ .passwordKey }}
            path: {{ .passwordKey }}
          {{- if .usernameKey }}
          - key: {{ .usernameKey }}
            path: {{ .usernameKey }}
          {{- end }}
    {{- end }}
    {{- end }}
    {{- with .Values.prometheus.authorization }}
    {{- if .existingSecret }}
    - name: prometheus-authorization
      secret:
        secretName: {{ .existingSecret }}
        defaultMode: 0440
        items:
          - key: {{ .credentialsKey }}
            path: {{ .credentialsKey }}
    {{- end }}
    {{- end }}
    {{- with .Values.prometheus.tls }}
    {{- if .existingSecret }}
    - name: prometheus-tls
      secret:
        secretName: {{ .existingSecret }}
        defaultMode: 0440
        items:
          {{- range (compact (list .caKey .certKey .keyKey)) }}
          - key: {{ . }}
            path: {{ . }}
          {{- end }}
    {{- end }}
    {{- end }}
    {{- if include "slo-exporter.webConfigEnabled" . }}
    - name: web-config
      secret:
        secretName: {{ include "slo-exporter.webConfigSecretName" . }}
        defaultMode: 0440
    {{- end }}
    {{- if .Values.web.tls.existingSecret }}
    - name: web-tls
      secret:
        secretName: {{ .Values.web.tls.existingSecret }}
        defaultMode: 0440
    {{- end }}
    {{- with .Values.extraVolumes }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
