package main

import (
	"fmt"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
)

// named turns a kind and a name into the prefix of a problem.
type named string

func (n named) String() string { return string(n) }

func kindName(kind, name string) named { return named(kind + "/" + name) }

// checkLinks checks what refers to what: the objects a workload reads, what the
// Services, budgets and monitors select, and what KEDA scales and logs in with.
func checkLinks(r *report, c *catalog) {
	for _, d := range c.deployments {
		about := kindName("Deployment", d.Name)
		for _, ct := range d.Spec.Template.Spec.Containers {
			for _, e := range ct.EnvFrom {
				if ref := e.ConfigMapRef; ref != nil && c.configMaps[ref.Name] == nil && !optional(ref.Optional) {
					r.add(about, "container %q reads ConfigMap %q, which the build does not have", ct.Name, ref.Name)
				}
				if ref := e.SecretRef; ref != nil && c.secrets[ref.Name] == nil && !optional(ref.Optional) {
					r.add(about, "container %q reads Secret %q, which the build does not have", ct.Name, ref.Name)
				}
			}
			checkEnvKeys(r, about, c, ct)
			if isWorker(ct) {
				checkWorker(r, about, d, ct, environment(c, ct))
			}
		}
	}
	for _, s := range c.services {
		about := kindName("Service", s.Name)
		pods := selectedPods(c, s.Spec.Selector)
		if len(s.Spec.Selector) > 0 && len(pods) == 0 {
			r.add(about, "spec.selector selects no pod template of the build")
		}
		for _, p := range s.Spec.Ports {
			if p.TargetPort.Type == intstr.String && len(pods) > 0 && !podsHavePort(pods, p.TargetPort.StrVal) {
				r.add(about, "port %q: targetPort %q is not a container port of the selected pods", p.Name, p.TargetPort.StrVal)
			}
		}
	}
	for _, b := range c.budgets {
		if b.Spec.Selector != nil && len(podsMatching(c, func(l map[string]string) bool { return selects(b.Spec.Selector, l) })) == 0 {
			r.add(kindName("PodDisruptionBudget", b.Name), "spec.selector selects no pod template of the build")
		}
	}
	for _, m := range c.monitors {
		about := kindName("ServiceMonitor", m.Name)
		var chosen []*corev1.Service
		for _, s := range c.services {
			if selects(&m.Spec.Selector, s.Labels) {
				chosen = append(chosen, s)
			}
		}
		if len(chosen) == 0 {
			r.add(about, "spec.selector selects no Service of the build")
		}
		for _, e := range m.Spec.Endpoints {
			for _, s := range chosen {
				if e.Port != "" && !serviceHasPort(s, e.Port) {
					r.add(about, "endpoint port %q is not a port name of Service %q", e.Port, s.Name)
				}
			}
		}
	}
	for _, s := range c.scaledObjects {
		checkScaling(r, c, s)
	}
}

func optional(b *bool) bool { return b != nil && *b }

// checkEnvKeys: keys a container takes from a ConfigMap or Secret become environment
// variables, so they must be valid variable names.
func checkEnvKeys(r *report, about named, c *catalog, ct corev1.Container) {
	for _, e := range ct.EnvFrom {
		var keys []string
		if ref := e.ConfigMapRef; ref != nil && c.configMaps[ref.Name] != nil {
			keys = keysOf(c.configMaps[ref.Name].Data)
		}
		if ref := e.SecretRef; ref != nil && c.secrets[ref.Name] != nil {
			keys = append(keysOf(c.secrets[ref.Name].Data), keysOf(c.secrets[ref.Name].StringData)...)
		}
		for _, k := range keys {
			for _, msg := range validation.IsEnvVarName(e.Prefix + k) {
				r.add(about, "container %q: %q from envFrom: %s", ct.Name, e.Prefix+k, msg)
			}
		}
	}
}

func selectedPods(c *catalog, selector map[string]string) []*corev1.PodTemplateSpec {
	if len(selector) == 0 {
		return nil
	}
	return podsMatching(c, func(l map[string]string) bool {
		for k, v := range selector {
			if l[k] != v {
				return false
			}
		}
		return true
	})
}

func podsMatching(c *catalog, match func(map[string]string) bool) []*corev1.PodTemplateSpec {
	var pods []*corev1.PodTemplateSpec
	for _, d := range c.deployments {
		if match(d.Spec.Template.Labels) {
			pods = append(pods, &d.Spec.Template)
		}
	}
	return pods
}

func podsHavePort(pods []*corev1.PodTemplateSpec, name string) bool {
	for _, pod := range pods {
		for _, ct := range pod.Spec.Containers {
			for _, p := range ct.Ports {
				if p.Name == name {
					return true
				}
			}
		}
	}
	return false
}

func serviceHasPort(s *corev1.Service, name string) bool {
	for _, p := range s.Spec.Ports {
		if p.Name == name {
			return true
		}
	}
	return false
}

// environment is what a container's process sees: its ConfigMaps and Secrets, then env.
func environment(c *catalog, ct corev1.Container) map[string]string {
	env := map[string]string{}
	for _, e := range ct.EnvFrom {
		if ref := e.ConfigMapRef; ref != nil && c.configMaps[ref.Name] != nil {
			for k, v := range c.configMaps[ref.Name].Data {
				env[e.Prefix+k] = v
			}
		}
		if ref := e.SecretRef; ref != nil && c.secrets[ref.Name] != nil {
			for k, v := range c.secrets[ref.Name].StringData {
				env[e.Prefix+k] = v
			}
			for k, v := range c.secrets[ref.Name].Data {
				env[e.Prefix+k] = string(v)
			}
		}
	}
	for _, e := range ct.Env {
		if e.ValueFrom == nil {
			env[e.Name] = e.Value
		}
	}
	return env
}

// checkScaling checks a ScaledObject against what it scales: the Deployment exists, its
// worker's settings name the same brokers, group, topic and security as the trigger, the
// replicas stay within the input topic's partitions, and the TriggerAuthentication and
// its Secret are there.
func checkScaling(r *report, c *catalog, s *scaledObject) {
	about := s.object
	ref := s.Spec.ScaleTargetRef
	var target *appsv1.Deployment
	if ref.Kind == "" || ref.Kind == "Deployment" {
		for _, d := range c.deployments {
			if d.Name == ref.Name {
				target = d
			}
		}
	}
	if target == nil {
		r.add(about, "spec.scaleTargetRef: no Deployment %q in the build", ref.Name)
	} else if ref.APIVersion != "" && ref.APIVersion != "apps/v1" {
		r.add(about, "spec.scaleTargetRef.apiVersion %q: the Deployment is apps/v1", ref.APIVersion)
	}
	for i, t := range s.Spec.Triggers {
		at := fmt.Sprintf("spec.triggers[%d]", i)
		var auth *triggerAuthentication
		if a := t.AuthenticationRef; a != nil {
			if a.Kind != "" && a.Kind != "TriggerAuthentication" {
				r.add(about, "%s.authenticationRef: only a TriggerAuthentication of the build can be checked, not a %s", at, a.Kind)
			} else if auth = c.triggerAuths[a.Name]; auth == nil {
				r.add(about, "%s.authenticationRef: no TriggerAuthentication %q in the build", at, a.Name)
			}
		}
		if t.Type != "kafka" {
			continue
		}
		params := authParams(r, c, auth, c.kedaDefinition.kafka)
		sasl := strings.TrimSpace(t.Metadata["sasl"])
		if sasl == "" {
			sasl = params["sasl"]
		}
		if sasl == "plaintext" || strings.HasPrefix(sasl, "scram_") {
			for _, need := range []string{"username", "password"} {
				if params[need] == "" {
					r.add(about, "%s: sasl %s needs a %s from the TriggerAuthentication", at, sasl, need)
				}
			}
		}
		if target != nil {
			for _, ct := range target.Spec.Template.Spec.Containers {
				if isWorker(ct) {
					agreeWithWorker(r, about, at, t.Metadata, sasl, s.Spec.MaxReplicaCount, environment(c, ct))
				}
			}
		}
	}
}

// authParams resolves a TriggerAuthentication's parameters from the build's Secrets.
func authParams(r *report, c *catalog, auth *triggerAuthentication, params scalerParams) map[string]string {
	values := map[string]string{}
	if auth == nil {
		return values
	}
	for _, ref := range auth.Spec.SecretTargetRef {
		if p, ok := params.byName(ref.Parameter); !ok || !p.auth {
			r.add(auth.object, "secretTargetRef parameter %q is not an authentication parameter of KEDA's kafka scaler", ref.Parameter)
		}
		secret := c.secrets[ref.Name]
		if secret == nil {
			r.add(auth.object, "secretTargetRef %q: no Secret %q in the build", ref.Parameter, ref.Name)
			continue
		}
		value, ok := secret.StringData[ref.Key]
		if !ok {
			data, inData := secret.Data[ref.Key]
			value, ok = string(data), inData
		}
		if !ok {
			r.add(auth.object, "secretTargetRef %q: Secret %q has no key %q", ref.Parameter, ref.Name, ref.Key)
		}
		values[ref.Parameter] = value
	}
	return values
}

// isWorker: the container runs the stancewire worker (the image's default command, or
// `stancewire worker` given explicitly).
func isWorker(ct corev1.Container) bool {
	words := append(append([]string{}, ct.Command...), ct.Args...)
	return len(words) == 0 || (strings.HasSuffix(words[0], "stancewire") && len(words) > 1 && words[1] == "worker")
}

// saslNames maps STANCEWIRE_SASL_MECHANISM to KEDA's sasl parameter.
var saslNames = map[string]string{"PLAIN": "plaintext", "SCRAM-SHA-256": "scram_sha256", "SCRAM-SHA-512": "scram_sha512"}

// agreeWithWorker: KEDA must measure the lag of the group the workers form, on the topic
// they read, through the brokers they use, logging in the same way. The settings are
// required explicitly rather than checked against defaults copied from agents/settings.py.
func agreeWithWorker(r *report, about object, at string, metadata map[string]string, sasl string, maxReplicas *int32, env map[string]string) {
	setting := func(name string) (string, bool) {
		v, ok := env[name]
		if !ok {
			r.add(about, "%s: the worker's environment must set %s explicitly, to compare it with the trigger", at, name)
		}
		return strings.TrimSpace(v), ok
	}
	pairs := [][2]string{
		{"bootstrapServers", "STANCEWIRE_BOOTSTRAP_SERVERS"},
		{"consumerGroup", "STANCEWIRE_APP_ID"},
		{"topic", "STANCEWIRE_INPUT_TOPIC"},
	}
	for _, pair := range pairs {
		if v, ok := setting(pair[1]); ok && strings.TrimSpace(metadata[pair[0]]) != v {
			r.add(about, "%s.metadata.%s %q differs from the worker's %s %q", at, pair[0], metadata[pair[0]], pair[1], v)
		}
	}
	if protocol, ok := setting("STANCEWIRE_SECURITY_PROTOCOL"); ok {
		wantTLS := "disable"
		if protocol == "SSL" || protocol == "SASL_SSL" {
			wantTLS = "enable"
		}
		tls := strings.TrimSpace(metadata["tls"])
		if tls == "" {
			tls = "disable"
		}
		if tls != wantTLS {
			r.add(about, "%s.metadata.tls %q does not match STANCEWIRE_SECURITY_PROTOCOL=%s", at, tls, protocol)
		}
		wantSASL, worker := "none", "STANCEWIRE_SECURITY_PROTOCOL="+protocol
		if strings.HasPrefix(protocol, "SASL_") {
			if mechanism, ok := setting("STANCEWIRE_SASL_MECHANISM"); ok {
				wantSASL, worker = saslNames[mechanism], worker+" with STANCEWIRE_SASL_MECHANISM="+mechanism
			}
		}
		if sasl == "" {
			sasl = "none"
		}
		if sasl != wantSASL {
			r.add(about, "%s.metadata.sasl %q does not match the worker's %s (want %q)", at, sasl, worker, wantSASL)
		}
	}
	if partitions, ok := setting("STANCEWIRE_PARTITIONS"); ok {
		n, err := strconv.Atoi(partitions)
		switch {
		case err != nil:
			r.add(about, "STANCEWIRE_PARTITIONS %q is not a number", partitions)
		case maxReplicas == nil:
			r.add(about, "spec.maxReplicaCount must be set: KEDA's default of 100 is more workers than the input topic's %d partitions", n)
		case int(*maxReplicas) > n:
			r.add(about, "spec.maxReplicaCount %d is more than the input topic's %d partitions (STANCEWIRE_PARTITIONS): the extra workers would sit idle", *maxReplicas, n)
		}
	}
}

// workerStopSeconds: on SIGTERM the worker finishes its batch, commits and exits within
// 10 s (README "Reliability"); the grace period must be longer.
const workerStopSeconds = 10

// checkWorker: the kubelet and Prometheus reach the worker's web port, and a stopping
// worker has time to finish its batch.
func checkWorker(r *report, about named, d *appsv1.Deployment, ct corev1.Container, env map[string]string) {
	host, ok := env["STANCEWIRE_WEB_HOST"]
	switch {
	case !ok:
		r.add(about, "container %q: set STANCEWIRE_WEB_HOST (the default binds to 127.0.0.1, out of the probes' reach)", ct.Name)
	case host == "127.0.0.1" || host == "localhost" || host == "::1":
		r.add(about, "container %q: STANCEWIRE_WEB_HOST=%s is out of the probes' and Prometheus's reach; use 0.0.0.0", ct.Name, host)
	}
	port, err := strconv.Atoi(env["STANCEWIRE_WEB_PORT"])
	if err != nil {
		r.add(about, "container %q: set STANCEWIRE_WEB_PORT to the web port's number", ct.Name)
	} else {
		for _, probe := range []*corev1.Probe{ct.StartupProbe, ct.LivenessProbe, ct.ReadinessProbe} {
			if probe == nil || probe.HTTPGet == nil {
				continue
			}
			if n := portNumber(ct, probe.HTTPGet.Port); n != 0 && n != port {
				r.add(about, "container %q: a probe on %s (port %d) misses the worker's web port %d (STANCEWIRE_WEB_PORT)", ct.Name, probe.HTTPGet.Path, n, port)
			}
		}
	}
	if g := d.Spec.Template.Spec.TerminationGracePeriodSeconds; g != nil && *g <= workerStopSeconds {
		r.add(about, "terminationGracePeriodSeconds %d is not longer than the %d s a worker takes to finish its batch on SIGTERM", *g, workerStopSeconds)
	}
}

// portNumber resolves a port given by name or number against the container's ports.
func portNumber(ct corev1.Container, port intstr.IntOrString) int {
	if port.Type == intstr.Int {
		return int(port.IntVal)
	}
	for _, p := range ct.Ports {
		if p.Name == port.StrVal {
			return int(p.ContainerPort)
		}
	}
	return 0
}
