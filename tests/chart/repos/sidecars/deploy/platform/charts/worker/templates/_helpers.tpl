{{- define "worker.fullname" -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- define "worker.name" -}}
{{- .Values.image.repository | base -}}
{{- end -}}
