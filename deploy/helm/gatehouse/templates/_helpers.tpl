{{/*
Names, labels, the checks that refuse a bad configuration, and the pod template shared by the
Deployment (PostgreSQL) and the StatefulSet (sled).
*/}}

{{- define "gatehouse.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "gatehouse.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "gatehouse.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "gatehouse.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gatehouse.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "gatehouse.labels" -}}
helm.sh/chart: {{ include "gatehouse.chart" . }}
{{ include "gatehouse.selectorLabels" . }}
app.kubernetes.io/version: {{ include "gatehouse.imageTag" . | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: gateway
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "gatehouse.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "gatehouse.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "gatehouse.imageTag" -}}
{{- default .Chart.AppVersion .Values.image.tag }}
{{- end }}

{{- define "gatehouse.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (include "gatehouse.imageTag" .) }}
{{- end }}
{{- end }}

{{/* Paths fixed by deploy/Dockerfile: the data directory (its VOLUME) and the config file. */}}
{{- define "gatehouse.dataDir" -}}/var/lib/gatehouse{{- end }}
{{- define "gatehouse.configDir" -}}/etc/gatehouse{{- end }}

{{/* server.listen: listenAddress:containerPort, an IPv6 address in brackets. */}}
{{- define "gatehouse.listen" -}}
{{- if contains ":" .Values.listenAddress }}
{{- printf "[%s]:%d" .Values.listenAddress (int .Values.containerPort) }}
{{- else }}
{{- printf "%s:%d" .Values.listenAddress (int .Values.containerPort) }}
{{- end }}
{{- end }}

{{/* The replicas that run at least: what decides whether a PodDisruptionBudget makes sense. */}}
{{- define "gatehouse.minReplicas" -}}
{{- if .Values.autoscaling.enabled }}
{{- int .Values.autoscaling.minReplicas }}
{{- else }}
{{- int .Values.replicaCount }}
{{- end }}
{{- end }}

{{/* The Secret the chart creates for quick-start values, when any is set. */}}
{{- define "gatehouse.quickstartSecretName" -}}
{{- include "gatehouse.fullname" . }}
{{- end }}

{{- define "gatehouse.createsSecret" -}}
{{- if or (and .Values.postgres.enabled .Values.postgres.url) .Values.masterKey.value .Values.operatorKey.value }}true{{- end }}
{{- end }}

{{/*
Refuses to render a configuration that cannot work, with the reason. Included by
templates/validate.yaml, so every render (install, upgrade, template, lint) runs it.
*/}}
{{- define "gatehouse.validate" -}}
{{- $v := .Values }}
{{- $replicas := int $v.replicaCount }}
{{- if not $v.postgres.enabled }}
  {{- if gt $replicas 1 }}
    {{- fail (printf "\n\ngatehouse: replicaCount is %d, but the store is the embedded sled store (postgres.enabled is false). One process owns a sled directory, and two pods must never open one: keep replicaCount at 1, or run several replicas on PostgreSQL with postgres.enabled=true, postgres.existingSecret and masterKey.existingSecret (docs/DEPLOYMENT.md)." $replicas) }}
  {{- end }}
  {{- if $v.autoscaling.enabled }}
    {{- fail "\n\ngatehouse: autoscaling.enabled needs postgres.enabled=true: the embedded sled store runs exactly one pod." }}
  {{- end }}
  {{- if or $v.postgres.existingSecret $v.postgres.url }}
    {{- fail "\n\ngatehouse: postgres.existingSecret or postgres.url is set but postgres.enabled is false, so the daemon would run on the embedded sled store instead. Set postgres.enabled=true, or remove them." }}
  {{- end }}
{{- else }}
  {{- if and $v.postgres.existingSecret $v.postgres.url }}
    {{- fail "\n\ngatehouse: give the PostgreSQL URL one way: postgres.existingSecret (production) or postgres.url (quick start), not both." }}
  {{- end }}
  {{- if not (or $v.postgres.existingSecret $v.postgres.url) }}
    {{- fail "\n\ngatehouse: postgres.enabled=true needs the database URL from a Secret: set postgres.existingSecret to a Secret whose key postgres.urlKey holds postgres://user:password@host/db (or, for a quick start only, postgres.url)." }}
  {{- end }}
  {{- if and $v.postgres.existingSecret (not $v.postgres.urlKey) }}
    {{- fail "\n\ngatehouse: postgres.urlKey must name the key of postgres.existingSecret that holds the URL." }}
  {{- end }}
  {{- if and $v.postgres.url (not (or (hasPrefix "postgres://" $v.postgres.url) (hasPrefix "postgresql://" $v.postgres.url))) }}
    {{- fail "\n\ngatehouse: postgres.url must be a postgres:// or postgresql:// URL." }}
  {{- end }}
  {{- if not (or $v.masterKey.existingSecret $v.masterKey.value) }}
    {{- fail "\n\ngatehouse: postgres.enabled=true needs masterKey.existingSecret (a Secret with the base64 master key under masterKey.key). Every replica must hold the same master key: credentials sealed by one are opened by the others, and without it each pod would make its own. Generate one with `gatehouse keys generate FILE` or `head -c 32 /dev/urandom | base64`." }}
  {{- end }}
  {{- if lt (int $v.autoscaling.maxReplicas) (int $v.autoscaling.minReplicas) }}
    {{- fail "\n\ngatehouse: autoscaling.maxReplicas is below autoscaling.minReplicas." }}
  {{- end }}
{{- end }}
{{- if and $v.masterKey.existingSecret $v.masterKey.value }}
  {{- fail "\n\ngatehouse: give the master key one way: masterKey.existingSecret (production) or masterKey.value (quick start), not both." }}
{{- end }}
{{- if and $v.masterKey.existingSecret (not $v.masterKey.key) }}
  {{- fail "\n\ngatehouse: masterKey.key must name the key of masterKey.existingSecret that holds the master key." }}
{{- end }}
{{- if $v.masterKey.value }}
  {{- if not (regexMatch "^[A-Za-z0-9+/]{43}=$" (trim $v.masterKey.value)) }}
    {{- fail "\n\ngatehouse: masterKey.value must be the base64 of 32 bytes (44 characters ending in '='), as `gatehouse keys generate` or `head -c 32 /dev/urandom | base64` print." }}
  {{- end }}
{{- end }}
{{- if and $v.operatorKey.existingSecret $v.operatorKey.value }}
  {{- fail "\n\ngatehouse: give the operator key one way: operatorKey.existingSecret or operatorKey.value (quick start), not both." }}
{{- end }}
{{- if and $v.operatorKey.existingSecret (not $v.operatorKey.key) }}
  {{- fail "\n\ngatehouse: operatorKey.key must name the key of operatorKey.existingSecret that holds the operator key." }}
{{- end }}
{{- if and $v.operatorKey.value (lt (len $v.operatorKey.value) 16) }}
  {{- fail "\n\ngatehouse: operatorKey.value must be at least 16 characters (the daemon refuses a shorter operator key)." }}
{{- end }}
{{- $managed := dict "server.listen" "it is set from listenAddress and containerPort" "store.data_dir" "it is the image's data directory, /var/lib/gatehouse, on the PersistentVolume" "store.url" "the URL holds a password: use postgres.existingSecret" "security.master_key" "it is a secret: use masterKey.existingSecret" "security.operator_key" "it is a secret: use operatorKey.existingSecret" "outputs.webhook_secret" "it is a secret: give GATEHOUSE_OUTPUTS_WEBHOOK_SECRET in extraEnv from a Secret" }}
{{- range $section, $entries := $v.config }}
  {{- if and $entries (not (kindIs "map" $entries)) }}
    {{- fail (printf "\n\ngatehouse: config.%s must be a map of keys (a [%s] section of gatehouse.toml)." $section $section) }}
  {{- end }}
  {{- range $key, $value := $entries }}
    {{- $name := printf "%s.%s" $section $key }}
    {{- if and (hasKey $managed $name) (not (kindIs "invalid" $value)) }}
      {{- fail (printf "\n\ngatehouse: config.%s cannot be set in the chart's config: %s." $name (get $managed $name)) }}
    {{- end }}
  {{- end }}
{{- end }}
{{- end }}

{{/*
One gatehouse.toml value: a string (JSON-quoted: a valid TOML basic string), a whole number or a
boolean. Helm reads numbers from values files as floats: they are printed as integers, since the
daemon accepts no TOML float.
*/}}
{{- define "gatehouse.tomlValue" -}}
{{- $value := .value }}
{{- if kindIs "string" $value }}
{{- toJson $value }}
{{- else if kindIs "bool" $value }}
{{- ternary "true" "false" $value }}
{{- else if or (kindIs "float64" $value) (kindIs "float32" $value) }}
{{- if ne (float64 (int64 $value)) (float64 $value) }}
{{- fail (printf "\n\ngatehouse: config.%s must be a whole number, got %v." .name $value) }}
{{- end }}
{{- int64 $value }}
{{- else if or (kindIs "int" $value) (kindIs "int64" $value) (kindIs "int32" $value) (kindIs "uint64" $value) }}
{{- $value }}
{{- else }}
{{- fail (printf "\n\ngatehouse: config.%s must be a string, a whole number or a boolean." .name) }}
{{- end }}
{{- end }}

{{/* gatehouse.toml, from .Values.config. */}}
{{- define "gatehouse.configToml" -}}
# gatehouse.toml rendered by the gatehouse Helm chart from .Values.config (docs/CONFIGURATION.md).
# server.listen and store.data_dir are set in the environment by the chart; the store URL, the
# master key and the operator key come from Secrets.
{{- range $section, $entries := .Values.config }}
{{- $present := dict }}
{{- range $key, $value := $entries }}
{{- if not (kindIs "invalid" $value) }}
{{- $_ := set $present $key $value }}
{{- end }}
{{- end }}
{{- if $present }}

[{{ $section }}]
{{- range $key, $value := $present }}
{{ $key }} = {{ include "gatehouse.tomlValue" (dict "name" (printf "%s.%s" $section $key) "value" $value) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/* A probe: the fixed path on the http port, with the timings from values. */}}
{{- define "gatehouse.probe" -}}
httpGet:
  path: {{ .path }}
  port: http
{{- toYaml (omit .probe "enabled") | nindent 0 }}
{{- end }}

{{/* The container's environment. */}}
{{- define "gatehouse.env" -}}
- name: GATEHOUSE_SERVER_LISTEN
  value: {{ include "gatehouse.listen" . | quote }}
- name: GATEHOUSE_STORE_DATA_DIR
  value: {{ include "gatehouse.dataDir" . | quote }}
{{- if .Values.postgres.enabled }}
- name: GATEHOUSE_STORE
  valueFrom:
    secretKeyRef:
      {{- if .Values.postgres.existingSecret }}
      name: {{ .Values.postgres.existingSecret }}
      key: {{ .Values.postgres.urlKey }}
      {{- else }}
      name: {{ include "gatehouse.quickstartSecretName" . }}
      key: store-url
      {{- end }}
{{- end }}
{{- if or .Values.masterKey.existingSecret .Values.masterKey.value }}
- name: GATEHOUSE_MASTER_KEY
  valueFrom:
    secretKeyRef:
      {{- if .Values.masterKey.existingSecret }}
      name: {{ .Values.masterKey.existingSecret }}
      key: {{ .Values.masterKey.key }}
      {{- else }}
      name: {{ include "gatehouse.quickstartSecretName" . }}
      key: master-key
      {{- end }}
{{- end }}
{{- if or .Values.operatorKey.existingSecret .Values.operatorKey.value }}
- name: GATEHOUSE_OPERATOR_KEY
  valueFrom:
    secretKeyRef:
      {{- if .Values.operatorKey.existingSecret }}
      name: {{ .Values.operatorKey.existingSecret }}
      key: {{ .Values.operatorKey.key }}
      {{- else }}
      name: {{ include "gatehouse.quickstartSecretName" . }}
      key: operator-key
      {{- end }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
The pod template, shared by the Deployment and the StatefulSet. The data volume ("data") is
the sled store's PersistentVolumeClaim (from the StatefulSet's volumeClaimTemplates, or
persistence.existingClaim), or an emptyDir on PostgreSQL.
*/}}
{{- define "gatehouse.podTemplate" -}}
{{- $shutdown := int (dig "server" "shutdown_timeout_secs" 30 .Values.config) }}
{{- $preStop := int .Values.preStopSleepSeconds -}}
metadata:
  labels:
    {{- include "gatehouse.labels" . | nindent 4 }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    # A changed gatehouse.toml or quick-start Secret rolls the pods (both are read at start).
    checksum/config: {{ include (print $.Template.BasePath "/configmap.yaml") . | sha256sum }}
    {{- if include "gatehouse.createsSecret" . }}
    checksum/secret: {{ include (print $.Template.BasePath "/secret.yaml") . | sha256sum }}
    {{- end }}
    {{- with .Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "gatehouse.serviceAccountName" . }}
  # The daemon never calls the Kubernetes API.
  automountServiceAccountToken: false
  # Kubernetes would otherwise inject <SERVICE>_PORT-style variables; a Service named like a
  # GATEHOUSE_* setting must not be able to configure the daemon.
  enableServiceLinks: false
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  {{- with .Values.podSecurityContext }}
  securityContext:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  terminationGracePeriodSeconds: {{ if kindIs "invalid" .Values.terminationGracePeriodSeconds }}{{ add $shutdown $preStop 15 }}{{ else }}{{ int .Values.terminationGracePeriodSeconds }}{{ end }}
  containers:
    - name: gatehouse
      image: {{ include "gatehouse.image" . | quote }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      command: ["/usr/local/bin/gatehouse"]
      args: ["serve", "--config", "{{ include "gatehouse.configDir" . }}/gatehouse.toml"]
      ports:
        - name: http
          containerPort: {{ int .Values.containerPort }}
          protocol: TCP
      env:
        {{- include "gatehouse.env" . | nindent 8 }}
      {{- with .Values.extraEnvFrom }}
      envFrom:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- if .Values.startupProbe.enabled }}
      startupProbe:
        {{- include "gatehouse.probe" (dict "path" "/healthz" "probe" .Values.startupProbe) | nindent 8 }}
      {{- end }}
      {{- if .Values.livenessProbe.enabled }}
      livenessProbe:
        {{- include "gatehouse.probe" (dict "path" "/healthz" "probe" .Values.livenessProbe) | nindent 8 }}
      {{- end }}
      {{- if .Values.readinessProbe.enabled }}
      readinessProbe:
        {{- include "gatehouse.probe" (dict "path" "/readyz" "probe" .Values.readinessProbe) | nindent 8 }}
      {{- end }}
      {{- if gt $preStop 0 }}
      lifecycle:
        preStop:
          exec:
            command: ["/bin/sleep", "{{ $preStop }}"]
      {{- end }}
      {{- with .Values.resources }}
      resources:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.securityContext }}
      securityContext:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      volumeMounts:
        - name: config
          mountPath: {{ include "gatehouse.configDir" . }}
          readOnly: true
        - name: data
          mountPath: {{ include "gatehouse.dataDir" . }}
        - name: tmp
          mountPath: /tmp
        {{- with .Values.extraVolumeMounts }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
  volumes:
    - name: config
      configMap:
        name: {{ include "gatehouse.fullname" . }}
        items:
          - key: gatehouse.toml
            path: gatehouse.toml
    {{- if .Values.postgres.enabled }}
    # Unused on PostgreSQL (no local inbox; the master key comes from the environment), but
    # the root filesystem is read-only and the data directory must exist.
    - name: data
      emptyDir:
        sizeLimit: 256Mi
    {{- else if not .Values.persistence.enabled }}
    # persistence.enabled=false: the store is lost with the pod. A throwaway trial only.
    - name: data
      emptyDir: {}
    {{- else if .Values.persistence.existingClaim }}
    - name: data
      persistentVolumeClaim:
        claimName: {{ .Values.persistence.existingClaim }}
    {{- end }}
    {{- /* Otherwise "data" comes from the StatefulSet's volumeClaimTemplates. */}}
    - name: tmp
      emptyDir:
        sizeLimit: 64Mi
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
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- if .Values.postgres.enabled }}
  {{- if .Values.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- toYaml .Values.topologySpreadConstraints | nindent 4 }}
  {{- else if or .Values.topologySpread.hostname .Values.topologySpread.zone }}
  # Replicas spread over nodes and zones: one lost node or zone must not take them all.
  topologySpreadConstraints:
    {{- range $key, $when := dict "kubernetes.io/hostname" .Values.topologySpread.hostname "topology.kubernetes.io/zone" .Values.topologySpread.zone }}
    {{- if $when }}
    - maxSkew: 1
      topologyKey: {{ $key }}
      whenUnsatisfiable: {{ $when }}
      labelSelector:
        matchLabels:
          {{- include "gatehouse.selectorLabels" $ | nindent 10 }}
    {{- end }}
    {{- end }}
  {{- end }}
  {{- end }}
{{- end }}
