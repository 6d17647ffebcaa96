package main

import (
	"fmt"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	kjson "sigs.k8s.io/json"
)

// report collects the problems found, each prefixed by the object it is about.
type report struct{ problems []string }

func (r *report) add(about fmt.Stringer, format string, args ...any) {
	r.problems = append(r.problems, about.String()+": "+fmt.Sprintf(format, args...))
}

func (r *report) fields(about fmt.Stringer, errs field.ErrorList) {
	for _, e := range errs {
		r.add(about, "%s", e.Error())
	}
}

// catalog holds the decoded objects, for the checks that relate one object to another.
type catalog struct {
	deployments    []*appsv1.Deployment
	configMaps     map[string]*corev1.ConfigMap
	secrets        map[string]*corev1.Secret
	services       []*corev1.Service
	budgets        []*policyv1.PodDisruptionBudget
	monitors       []*monitoringv1.ServiceMonitor
	scaledObjects  []*scaledObject
	triggerAuths   map[string]*triggerAuthentication
	kedaDefinition *kedaSchemas
}

// validate checks each object on its own, then the references between them.
func validate(objects []object, schemas *kedaSchemas) []string {
	r := &report{}
	c := &catalog{
		configMaps:     map[string]*corev1.ConfigMap{},
		secrets:        map[string]*corev1.Secret{},
		triggerAuths:   map[string]*triggerAuthentication{},
		kedaDefinition: schemas,
	}
	for _, o := range objects {
		switch o.APIVersion + " " + o.Kind {
		case "apps/v1 Deployment":
			var d appsv1.Deployment
			if decodeStrict(r, o, &d) {
				checkMeta(r, o, &d.ObjectMeta, apivalidation.NameIsDNSSubdomain)
				checkDeployment(r, o, &d)
				c.deployments = append(c.deployments, &d)
			}
		case "v1 ConfigMap":
			var m corev1.ConfigMap
			if decodeStrict(r, o, &m) {
				checkMeta(r, o, &m.ObjectMeta, apivalidation.NameIsDNSSubdomain)
				checkKeys(r, o, append(keysOf(m.Data), keysOf(m.BinaryData)...))
				c.configMaps[m.Name] = &m
			}
		case "v1 Secret":
			var s corev1.Secret
			if decodeStrict(r, o, &s) {
				checkMeta(r, o, &s.ObjectMeta, apivalidation.NameIsDNSSubdomain)
				checkKeys(r, o, keysOf(s.Data))
				checkKeys(r, o, keysOf(s.StringData))
				c.secrets[s.Name] = &s
			}
		case "v1 Service":
			var s corev1.Service
			if decodeStrict(r, o, &s) {
				checkMeta(r, o, &s.ObjectMeta, apivalidation.NameIsDNS1035Label)
				checkService(r, o, &s)
				c.services = append(c.services, &s)
			}
		case "policy/v1 PodDisruptionBudget":
			var b policyv1.PodDisruptionBudget
			if decodeStrict(r, o, &b) {
				checkMeta(r, o, &b.ObjectMeta, apivalidation.NameIsDNSSubdomain)
				checkBudget(r, o, &b)
				c.budgets = append(c.budgets, &b)
			}
		case "monitoring.coreos.com/v1 ServiceMonitor":
			var m monitoringv1.ServiceMonitor
			if decodeStrict(r, o, &m) {
				checkMeta(r, o, &m.ObjectMeta, apivalidation.NameIsDNSSubdomain)
				checkMonitor(r, o, &m)
				c.monitors = append(c.monitors, &m)
			}
		case "keda.sh/v1alpha1 ScaledObject":
			if s := checkScaledObject(r, o, schemas); s != nil {
				c.scaledObjects = append(c.scaledObjects, s)
			}
		case "keda.sh/v1alpha1 TriggerAuthentication":
			if t := checkTriggerAuthentication(r, o, schemas); t != nil {
				c.triggerAuths[t.Name] = t
			}
		default:
			r.add(o, "kubecheck does not know %s %s; add it to tools/kubecheck", o.APIVersion, o.Kind)
		}
	}
	checkLinks(r, c)
	return r.problems
}

// decodeStrict decodes the object into its Go type as the API server does with
// field validation set to Strict: unknown and duplicate fields are errors, and field
// names are case-sensitive.
func decodeStrict(r *report, o object, into any) bool {
	strict, err := kjson.UnmarshalStrict(o.Body, into, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err != nil {
		r.add(o, "cannot decode: %v", err)
		return false
	}
	for _, e := range strict {
		r.add(o, "%v", e)
	}
	return true // the known fields decoded: the checks between objects can use them
}

// checkMeta is the API server's validation of metadata. The namespace may be left out:
// kubectl fills it in.
func checkMeta(r *report, o object, meta *metav1.ObjectMeta, name apivalidation.ValidateNameFunc) {
	r.fields(o, apivalidation.ValidateObjectMeta(meta, meta.Namespace != "", name, field.NewPath("metadata")))
}

func keysOf[V any](m map[string]V) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}

func checkKeys(r *report, o object, keys []string) {
	seen := map[string]bool{}
	for _, key := range keys {
		for _, msg := range validation.IsConfigMapKey(key) {
			r.add(o, "key %q: %s", key, msg)
		}
		if seen[key] {
			r.add(o, "key %q is given twice", key)
		}
		seen[key] = true
	}
}

func checkSelector(r *report, o object, selector *metav1.LabelSelector, path *field.Path) {
	if selector == nil || (len(selector.MatchLabels) == 0 && len(selector.MatchExpressions) == 0) {
		r.add(o, "%s: an empty selector selects every pod", path)
		return
	}
	r.fields(o, metavalidation.ValidateLabelSelector(selector, metavalidation.LabelSelectorValidationOptions{}, path))
}

func checkDeployment(r *report, o object, d *appsv1.Deployment) {
	spec := field.NewPath("spec")
	checkSelector(r, o, d.Spec.Selector, spec.Child("selector"))
	r.fields(o, metavalidation.ValidateLabels(d.Spec.Template.Labels, spec.Child("template", "metadata", "labels")))
	if d.Spec.Selector != nil && !selects(d.Spec.Selector, d.Spec.Template.Labels) {
		r.add(o, "spec.selector does not match the pod template's labels")
	}
	if d.Spec.Replicas != nil && *d.Spec.Replicas < 0 {
		r.add(o, "spec.replicas must not be negative")
	}
	if u := d.Spec.Strategy.RollingUpdate; u != nil {
		if d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType {
			r.add(o, "spec.strategy.rollingUpdate is forbidden with type Recreate")
		}
		if isZero(u.MaxSurge) && isZero(u.MaxUnavailable) {
			r.add(o, "spec.strategy.rollingUpdate: maxSurge and maxUnavailable may not both be 0")
		}
	}
	checkPod(r, o, &d.Spec.Template.Spec, spec.Child("template", "spec"))
}

func isZero(v *intstr.IntOrString) bool {
	return v != nil && (v.String() == "0" || v.String() == "0%")
}

func checkService(r *report, o object, s *corev1.Service) {
	if len(s.Spec.Ports) == 0 {
		r.add(o, "spec.ports: a Service needs at least one port")
	}
	r.fields(o, metavalidation.ValidateLabels(s.Spec.Selector, field.NewPath("spec", "selector")))
	names := map[string]bool{}
	for i, p := range s.Spec.Ports {
		path := field.NewPath("spec", "ports").Index(i)
		if len(s.Spec.Ports) > 1 && p.Name == "" {
			r.add(o, "%s.name: required when a Service has several ports", path)
		}
		if p.Name != "" {
			for _, msg := range validation.IsDNS1123Label(p.Name) {
				r.add(o, "%s.name %q: %s", path, p.Name, msg)
			}
		}
		if names[p.Name] {
			r.add(o, "%s.name %q is used twice", path, p.Name)
		}
		names[p.Name] = true
		for _, msg := range validation.IsValidPortNum(int(p.Port)) {
			r.add(o, "%s.port: %s", path, msg)
		}
		checkPortRef(r, o, p.TargetPort, path.Child("targetPort"))
	}
}

// checkPortRef checks the form of a port given by name or number.
func checkPortRef(r *report, o object, port intstr.IntOrString, path *field.Path) {
	if port.Type == intstr.String {
		for _, msg := range validation.IsValidPortName(port.StrVal) {
			r.add(o, "%s %q: %s", path, port.StrVal, msg)
		}
		return
	}
	if port.IntVal != 0 {
		for _, msg := range validation.IsValidPortNum(int(port.IntVal)) {
			r.add(o, "%s: %s", path, msg)
		}
	}
}

func checkBudget(r *report, o object, b *policyv1.PodDisruptionBudget) {
	checkSelector(r, o, b.Spec.Selector, field.NewPath("spec", "selector"))
	if (b.Spec.MinAvailable == nil) == (b.Spec.MaxUnavailable == nil) {
		r.add(o, "spec: set exactly one of minAvailable and maxUnavailable")
	}
	for _, v := range []*intstr.IntOrString{b.Spec.MinAvailable, b.Spec.MaxUnavailable} {
		if v != nil && v.Type == intstr.String && !strings.HasSuffix(v.StrVal, "%") {
			r.add(o, "spec: %q is neither a number nor a percentage", v.StrVal)
		}
	}
}

func checkMonitor(r *report, o object, m *monitoringv1.ServiceMonitor) {
	checkSelector(r, o, &m.Spec.Selector, field.NewPath("spec", "selector"))
	if len(m.Spec.Endpoints) == 0 {
		r.add(o, "spec.endpoints: a ServiceMonitor needs at least one endpoint")
	}
	for i, e := range m.Spec.Endpoints {
		path := field.NewPath("spec", "endpoints").Index(i)
		if e.Port == "" && e.TargetPort == nil {
			r.add(o, "%s: set port (a Service port name) or targetPort", path)
		}
		if e.Path != "" && !strings.HasPrefix(e.Path, "/") {
			r.add(o, "%s.path %q must start with /", path, e.Path)
		}
		interval, ok := checkDuration(r, o, string(e.Interval), path.Child("interval"))
		timeout, ok2 := checkDuration(r, o, string(e.ScrapeTimeout), path.Child("scrapeTimeout"))
		if ok && ok2 && interval > 0 && timeout > interval {
			r.add(o, "%s: scrapeTimeout %s is longer than interval %s", path, e.ScrapeTimeout, e.Interval)
		}
	}
}
