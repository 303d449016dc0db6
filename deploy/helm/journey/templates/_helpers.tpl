{{/* Names, labels and the pieces every Journey pod shares. */}}

{{- define "journey.labels" -}}
app.kubernetes.io/name: journey
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}

{{- define "journey.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{/* A ClickHouse cluster (shards or replicas) rather than one node. */}}
{{- define "journey.clustered" -}}
{{- if or (gt (int .Values.clickhouse.shards) 1) (gt (int .Values.clickhouse.replicas) 1) }}true{{ end }}
{{- end }}

{{- define "journey.bootstrap" -}}
{{- if .Values.kafka.strimzi }}journey-kafka-bootstrap:9092{{ else }}{{ required "kafka.externalBootstrapServers is needed when kafka.strimzi is false" .Values.kafka.externalBootstrapServers }}{{ end }}
{{- end }}

{{/* Pod-level security: a non-root user, the runtime's default seccomp profile. */}}
{{- define "journey.podSecurity" -}}
securityContext:
  runAsNonRoot: true
  runAsUser: {{ .uid }}
  runAsGroup: {{ .uid }}
  fsGroup: {{ .uid }}
  seccompProfile: {type: RuntimeDefault}
{{- end }}

{{/* Container-level security: no privilege escalation, no capabilities, and a read-only root
     file system where the process writes only to its volumes. */}}
{{- define "journey.containerSecurity" -}}
securityContext:
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: {{ .readOnly }}
  capabilities: {drop: [ALL]}
{{- end }}

{{/* A Journey container: the image, one command, every setting, its resources. */}}
{{- define "journey.container" -}}
- name: {{ .name }}
  image: {{ include "journey.image" .root }}
  imagePullPolicy: {{ .root.Values.image.pullPolicy }}
  command: {{ toJson .command }}
  envFrom:
    - configMapRef: {name: journey-config}
    - secretRef: {name: {{ .root.Values.existingSecret }}}
  {{- include "journey.containerSecurity" (dict "readOnly" true) | nindent 2 }}
  resources: {{- toYaml .resources | nindent 4 }}
  volumeMounts:
    - {name: {{ .data | default "data" }}, mountPath: /var/lib/journey}
    - {name: tmp, mountPath: /tmp}
{{- end }}

{{/* The nginx sidecar of the collector's and the API's pods (files/proxy.conf). */}}
{{- define "journey.proxy" -}}
- name: proxy
  image: {{ .root.Values.proxy.image }}
  ports: [{containerPort: {{ .port }}, name: http}]
  {{- include "journey.containerSecurity" (dict "readOnly" true) | nindent 2 }}
  resources: {{- toYaml .root.Values.proxy.resources | nindent 4 }}
  volumeMounts:
    - {name: proxy, mountPath: /etc/nginx/conf.d/default.conf, subPath: proxy.conf}
    - {name: proxy-tmp, mountPath: /tmp}
{{- end }}
