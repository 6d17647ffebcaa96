package main

import (
	"strings"
	"time"

	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// selects says whether the selector picks pods with these labels.
func selects(selector *metav1.LabelSelector, podLabels map[string]string) bool {
	s, err := metav1.LabelSelectorAsSelector(selector)
	if err != nil || s.Empty() {
		return false
	}
	return s.Matches(labels.Set(podLabels))
}

// checkDuration parses a duration with Prometheus's own parser (the format of the
// ServiceMonitor's interval and scrapeTimeout); an empty one means Prometheus's default.
func checkDuration(r *report, o object, value string, path *field.Path) (time.Duration, bool) {
	if value == "" {
		return 0, true
	}
	d, err := model.ParseDuration(value)
	if err != nil {
		r.add(o, "%s: %v", path, err)
		return 0, false
	}
	return time.Duration(d), true
}

// checkPod applies the rules the API server checks on a pod template that a typed
// decode cannot: names, ports, probes, resources, volumes and environment names.
func checkPod(r *report, o object, pod *corev1.PodSpec, path *field.Path) {
	if len(pod.Containers) == 0 {
		r.add(o, "%s.containers: a pod needs at least one container", path)
	}
	volumes := map[string]bool{}
	for i, v := range pod.Volumes {
		vp := path.Child("volumes").Index(i)
		for _, msg := range validation.IsDNS1123Label(v.Name) {
			r.add(o, "%s.name %q: %s", vp, v.Name, msg)
		}
		if volumes[v.Name] {
			r.add(o, "%s.name %q is used twice", vp, v.Name)
		}
		volumes[v.Name] = true
	}
	if g := pod.TerminationGracePeriodSeconds; g != nil && *g < 0 {
		r.add(o, "%s.terminationGracePeriodSeconds must not be negative", path)
	}
	if sc := pod.SecurityContext; sc != nil && sc.RunAsNonRoot != nil && *sc.RunAsNonRoot &&
		sc.RunAsUser != nil && *sc.RunAsUser == 0 {
		r.add(o, "%s.securityContext: runAsNonRoot with runAsUser 0 never starts", path)
	}
	names := map[string]bool{}
	for i := range pod.Containers {
		c := &pod.Containers[i]
		cp := path.Child("containers").Index(i)
		for _, msg := range validation.IsDNS1123Label(c.Name) {
			r.add(o, "%s.name %q: %s", cp, c.Name, msg)
		}
		if names[c.Name] {
			r.add(o, "%s.name %q is used twice", cp, c.Name)
		}
		names[c.Name] = true
		checkContainer(r, o, c, volumes, cp)
	}
}

func checkContainer(r *report, o object, c *corev1.Container, volumes map[string]bool, path *field.Path) {
	if strings.TrimSpace(c.Image) == "" {
		r.add(o, "%s.image is required", path)
	}
	ports := map[string]bool{}
	for i, p := range c.Ports {
		pp := path.Child("ports").Index(i)
		for _, msg := range validation.IsValidPortNum(int(p.ContainerPort)) {
			r.add(o, "%s.containerPort: %s", pp, msg)
		}
		if p.Name != "" {
			for _, msg := range validation.IsValidPortName(p.Name) {
				r.add(o, "%s.name %q: %s", pp, p.Name, msg)
			}
			if ports[p.Name] {
				r.add(o, "%s.name %q is used twice", pp, p.Name)
			}
			ports[p.Name] = true
		}
	}
	for i, e := range c.Env {
		for _, msg := range validation.IsEnvVarName(e.Name) {
			r.add(o, "%s.name %q: %s", path.Child("env").Index(i), e.Name, msg)
		}
	}
	for i, e := range c.EnvFrom {
		ep := path.Child("envFrom").Index(i)
		if (e.ConfigMapRef == nil) == (e.SecretRef == nil) {
			r.add(o, "%s: set exactly one of configMapRef and secretRef", ep)
		}
	}
	for name, request := range c.Resources.Requests {
		if limit, ok := c.Resources.Limits[name]; ok && request.Cmp(limit) > 0 {
			r.add(o, "%s.resources: the %s request %s is above its limit %s", path, name, request.String(), limit.String())
		}
	}
	for i, m := range c.VolumeMounts {
		mp := path.Child("volumeMounts").Index(i)
		if !volumes[m.Name] {
			r.add(o, "%s: no volume named %q", mp, m.Name)
		}
		if !strings.HasPrefix(m.MountPath, "/") {
			r.add(o, "%s.mountPath %q must be absolute", mp, m.MountPath)
		}
	}
	checkProbe(r, o, c, c.StartupProbe, path.Child("startupProbe"), true)
	checkProbe(r, o, c, c.LivenessProbe, path.Child("livenessProbe"), true)
	checkProbe(r, o, c, c.ReadinessProbe, path.Child("readinessProbe"), false)
}

// checkProbe: one handler, a port the container has, an absolute path, sane thresholds.
func checkProbe(r *report, o object, c *corev1.Container, p *corev1.Probe, path *field.Path, oneSuccess bool) {
	if p == nil {
		return
	}
	handlers := 0
	if p.Exec != nil {
		handlers++
		if len(p.Exec.Command) == 0 {
			r.add(o, "%s.exec.command is required", path)
		}
	}
	if p.HTTPGet != nil {
		handlers++
		checkProbePort(r, o, c, p.HTTPGet.Port, path.Child("httpGet", "port"))
		if p.HTTPGet.Path != "" && !strings.HasPrefix(p.HTTPGet.Path, "/") {
			r.add(o, "%s.httpGet.path %q must start with /", path, p.HTTPGet.Path)
		}
		if p.HTTPGet.Scheme != "" && p.HTTPGet.Scheme != corev1.URISchemeHTTP && p.HTTPGet.Scheme != corev1.URISchemeHTTPS {
			r.add(o, "%s.httpGet.scheme %q is neither HTTP nor HTTPS", path, p.HTTPGet.Scheme)
		}
	}
	if p.TCPSocket != nil {
		handlers++
		checkProbePort(r, o, c, p.TCPSocket.Port, path.Child("tcpSocket", "port"))
	}
	if p.GRPC != nil {
		handlers++
		for _, msg := range validation.IsValidPortNum(int(p.GRPC.Port)) {
			r.add(o, "%s.grpc.port: %s", path, msg)
		}
	}
	if handlers != 1 {
		r.add(o, "%s: give exactly one of exec, httpGet, tcpSocket and grpc (found %d)", path, handlers)
	}
	for name, v := range map[string]int32{
		"initialDelaySeconds": p.InitialDelaySeconds, "timeoutSeconds": p.TimeoutSeconds,
		"periodSeconds": p.PeriodSeconds, "successThreshold": p.SuccessThreshold,
		"failureThreshold": p.FailureThreshold,
	} {
		if v < 0 {
			r.add(o, "%s.%s must not be negative", path, name)
		}
	}
	if oneSuccess && p.SuccessThreshold > 1 {
		r.add(o, "%s.successThreshold must be 1 for liveness and startup probes", path)
	}
	if p.TimeoutSeconds > 0 && p.PeriodSeconds > 0 && p.TimeoutSeconds > p.PeriodSeconds {
		r.add(o, "%s: timeoutSeconds %d is longer than periodSeconds %d", path, p.TimeoutSeconds, p.PeriodSeconds)
	}
}

// checkProbePort: a named port must be one of the container's, or the kubelet cannot
// resolve it and the probe fails on every try.
func checkProbePort(r *report, o object, c *corev1.Container, port intstr.IntOrString, path *field.Path) {
	checkPortRef(r, o, port, path)
	if port.Type == intstr.String {
		for _, p := range c.Ports {
			if p.Name == port.StrVal {
				return
			}
		}
		r.add(o, "%s: container %q has no port named %q", path, c.Name, port.StrVal)
		return
	}
	if port.IntVal == 0 {
		r.add(o, "%s is required", path)
	}
}
