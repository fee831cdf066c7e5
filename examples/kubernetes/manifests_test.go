// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package kubernetes

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

const chartDir = "../../charts/posit-connect-exporter"

// object is one decoded manifest and where it came from.
type object struct {
	source string
	obj    metav1.Object
}

// newObject returns an empty value of the API type for apiVersion and kind.
func newObject(apiVersion, kind string) (metav1.Object, error) {
	switch apiVersion + " " + kind {
	case "apps/v1 Deployment":
		return &appsv1.Deployment{}, nil
	case "v1 Service":
		return &corev1.Service{}, nil
	case "v1 PersistentVolumeClaim":
		return &corev1.PersistentVolumeClaim{}, nil
	case "monitoring.coreos.com/v1 ServiceMonitor":
		return &monitoringv1.ServiceMonitor{}, nil
	case "monitoring.coreos.com/v1 PrometheusRule":
		return &monitoringv1.PrometheusRule{}, nil
	}
	return nil, fmt.Errorf("no API type known for apiVersion %q kind %q", apiVersion, kind)
}

// decodeAll splits a YAML stream into documents and decodes each strictly:
// unknown or duplicate fields, and values of the wrong type, are errors.
func decodeAll(source string, data []byte) ([]object, error) {
	var out []object
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for i := 1; ; i++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", source, i, err)
		}
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", source, i, err)
		}
		if tm.APIVersion == "" && tm.Kind == "" && len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue // only comments
		}
		obj, err := newObject(tm.APIVersion, tm.Kind)
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", source, i, err)
		}
		if err := yaml.UnmarshalStrict(doc, obj); err != nil {
			return nil, fmt.Errorf("%s: document %d (%s): %w", source, i, tm.Kind, err)
		}
		if obj.GetName() == "" {
			return nil, fmt.Errorf("%s: document %d (%s) has no metadata.name", source, i, tm.Kind)
		}
		out = append(out, object{source: source, obj: obj})
	}
}

func stripComments(doc []byte) []byte {
	var b bytes.Buffer
	for line := range bytes.Lines(doc) {
		if !bytes.HasPrefix(bytes.TrimSpace(line), []byte("#")) {
			b.Write(line)
		}
	}
	return b.Bytes()
}

func TestDecodeRejectsUnknownFields(t *testing.T) {
	for name, doc := range map[string]string{
		"unknown field":   "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {selektor: {a: b}}\n",
		"wrong type":      "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: a}\nspec: {resources: {requests: {storage: lots}}}\n",
		"duplicate field": "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nmetadata: {name: b}\n",
		"unknown kind":    "apiVersion: v1\nkind: Servise\nmetadata: {name: a}\n",
		"operator field":  "apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: {name: a}\nspec: {endpoints: [{port: m, intervall: 1m}]}\n",
	} {
		if _, err := decodeAll(name, []byte(doc)); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
}

// TestManifests decodes every manifest in this folder and checks that they
// work together.
func TestManifests(t *testing.T) {
	files, err := filepath.Glob("*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	var objs []object
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		o, err := decodeAll(f, data)
		if err != nil {
			t.Fatal(err)
		}
		if len(o) == 0 {
			t.Errorf("%s: no object", f)
		}
		objs = append(objs, o...)
	}
	kinds := map[string]bool{}
	for _, o := range objs {
		kinds[fmt.Sprintf("%T", o.obj)] = true
	}
	for _, k := range []string{"*v1.Deployment", "*v1.Service", "*v1.PersistentVolumeClaim", "*v1.ServiceMonitor", "*v1.PrometheusRule"} {
		if !kinds[k] {
			t.Errorf("no %s among the manifests", k)
		}
	}
	checkSet(t, objs, setExpect{stateFile: true, serviceMonitor: true})
	d := only[*appsv1.Deployment](t, objs)
	if _, tag, _ := strings.Cut(d.Spec.Template.Spec.Containers[0].Image, ":"); tag != version(t) {
		t.Errorf("deployment.yaml: image tag %q, want the VERSION file's %q", tag, version(t))
	}
}

// TestHelmChart renders the chart with several sets of values and decodes
// and checks the output like the manifests.
func TestHelmChart(t *testing.T) {
	helm, err := exec.LookPath("helm")
	if err != nil {
		t.Fatalf("helm is needed for this test (go install helm.sh/helm/v3/cmd/helm@v3.22.0): %v", err)
	}
	chart, err := os.ReadFile(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var meta struct {
		AppVersion string `json:"appVersion"`
		Version    string `json:"version"`
	}
	if err := yaml.Unmarshal(chart, &meta); err != nil {
		t.Fatal(err)
	}
	if meta.AppVersion != version(t) {
		t.Errorf("Chart.yaml appVersion %q, want the VERSION file's %q", meta.AppVersion, version(t))
	}
	render := func(args ...string) ([]byte, error) {
		cmd := exec.Command(helm, append([]string{"template", "pce", chartDir, "--namespace", "monitoring"}, args...)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("helm template %s: %w: %s", strings.Join(args, " "), err, stderr.String())
		}
		return out, nil
	}
	url := "--set=connect.url=https://connect.example.com"
	for _, tc := range []struct {
		name   string
		args   []string
		expect setExpect
	}{
		{"defaults", []string{url}, setExpect{stateFile: true}},
		{"serviceMonitor", []string{url, "--set=serviceMonitor.enabled=true"}, setExpect{stateFile: true, serviceMonitor: true}},
		{"existingClaim", []string{url, "--set=state.existingClaim=my-claim"}, setExpect{stateFile: true, existingClaim: "my-claim"}},
		{"no state", []string{url, "--set=state.enabled=false"}, setExpect{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := render(tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			objs, err := decodeAll("helm template "+tc.name, out)
			if err != nil {
				t.Fatal(err)
			}
			checkSet(t, objs, tc.expect)
			d := only[*appsv1.Deployment](t, objs)
			if img := d.Spec.Template.Spec.Containers[0].Image; !strings.HasSuffix(img, ":"+meta.AppVersion) {
				t.Errorf("image %q is not tagged with appVersion %s", img, meta.AppVersion)
			}
			for _, o := range objs {
				if o.obj.GetNamespace() != "" && o.obj.GetNamespace() != "monitoring" {
					t.Errorf("%s %s: namespace %q, want the release's", o.source, o.obj.GetName(), o.obj.GetNamespace())
				}
			}
		})
	}
	if _, err := render(); err == nil || !strings.Contains(err.Error(), "connect.url") {
		t.Errorf("helm template without connect.url: err = %v, want one naming connect.url", err)
	}
}

func version(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../VERSION")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// only returns the one object of type T in objs.
func only[T metav1.Object](t *testing.T, objs []object) T {
	t.Helper()
	var found []T
	for _, o := range objs {
		if v, ok := o.obj.(T); ok {
			found = append(found, v)
		}
	}
	if len(found) != 1 {
		var zero T
		t.Fatalf("%d objects of type %T, want 1", len(found), zero)
	}
	return found[0]
}

func all[T metav1.Object](objs []object) []T {
	var found []T
	for _, o := range objs {
		if v, ok := o.obj.(T); ok {
			found = append(found, v)
		}
	}
	return found
}

type setExpect struct {
	stateFile      bool   // --state.file on a PersistentVolumeClaim
	existingClaim  string // the claim is not among the objects, but named so
	serviceMonitor bool
}

// checkSet checks that the Deployment, its volumes, the Service and the
// ServiceMonitor fit together: the non-root exporter can read the key file
// and write the state file, probes and ports line up, selectors match.
func checkSet(t *testing.T, objs []object, want setExpect) {
	t.Helper()
	d := only[*appsv1.Deployment](t, objs)
	pod := d.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("deployment: %d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	psc := pod.SecurityContext
	if psc == nil {
		t.Fatal("deployment: no pod securityContext")
	}
	uid := psc.RunAsUser
	gid := psc.RunAsGroup
	nonRoot := psc.RunAsNonRoot
	if c.SecurityContext != nil {
		if c.SecurityContext.RunAsUser != nil {
			uid = c.SecurityContext.RunAsUser
		}
		if c.SecurityContext.RunAsGroup != nil {
			gid = c.SecurityContext.RunAsGroup
		}
		if c.SecurityContext.RunAsNonRoot != nil {
			nonRoot = c.SecurityContext.RunAsNonRoot
		}
	}
	if uid == nil || *uid == 0 || nonRoot == nil || !*nonRoot {
		t.Fatalf("deployment: the exporter must run as a non-root uid with runAsNonRoot (uid %v)", uid)
	}
	groups := []int64{}
	if gid != nil {
		groups = append(groups, *gid)
	}
	groups = append(groups, psc.SupplementalGroups...)
	if psc.FSGroup != nil {
		groups = append(groups, *psc.FSGroup)
	}
	if csc := c.SecurityContext; csc == nil || csc.ReadOnlyRootFilesystem == nil || !*csc.ReadOnlyRootFilesystem ||
		csc.AllowPrivilegeEscalation == nil || *csc.AllowPrivilegeEscalation {
		t.Error("deployment: want readOnlyRootFilesystem and no privilege escalation")
	}

	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = v
	}
	// volumeAt returns the volume mounted at dir, and whether read-only.
	volumeAt := func(dir string) (corev1.Volume, bool, bool) {
		for _, m := range c.VolumeMounts {
			if path.Clean(m.MountPath) == dir && m.SubPath == "" {
				v, ok := volumes[m.Name]
				return v, m.ReadOnly, ok
			}
		}
		return corev1.Volume{}, false, false
	}
	flag := func(name string) (string, bool) {
		for _, a := range c.Args {
			if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
				return v, true
			}
		}
		return "", false
	}

	// The key file: a Secret key mounted as a file the exporter can read.
	keyFile, ok := flag("connect.api-key-file")
	if !ok {
		t.Fatal("deployment: no --connect.api-key-file")
	}
	v, _, ok := volumeAt(path.Dir(keyFile))
	if !ok || v.Secret == nil {
		t.Fatalf("deployment: %s is not on a Secret volume", keyFile)
	}
	mode := int32(0o644) // Kubernetes' default
	if v.Secret.DefaultMode != nil {
		mode = *v.Secret.DefaultMode
	}
	for _, it := range v.Secret.Items {
		if it.Path == path.Base(keyFile) && it.Mode != nil {
			mode = *it.Mode
		}
	}
	// Secret files belong to root and, with fsGroup, to that group.
	fileGroup := int64(0)
	if psc.FSGroup != nil {
		fileGroup = *psc.FSGroup
	}
	readable := mode&0o004 != 0 || (slices.Contains(groups, fileGroup) && mode&0o040 != 0)
	if !readable {
		t.Errorf("deployment: key file %s (mode %#o, owner 0, group %d) is not readable by uid %d with groups %v",
			keyFile, mode, fileGroup, *uid, groups)
	}
	if mode&0o007 != 0 {
		t.Errorf("deployment: key file mode %#o lets other users read it", mode)
	}
	if !hasEnv(c, "CONNECT_SERVER") {
		if _, ok := flag("connect.url"); !ok {
			t.Error("deployment: neither CONNECT_SERVER nor --connect.url")
		}
	}

	// The state file: on a PersistentVolumeClaim the exporter can write.
	stateFile, hasState := flag("state.file")
	pvcs := all[*corev1.PersistentVolumeClaim](objs)
	switch {
	case !want.stateFile:
		if hasState || len(pvcs) != 0 {
			t.Errorf("deployment: --state.file %q and %d claims, want neither", stateFile, len(pvcs))
		}
	case !hasState:
		t.Error("deployment: no --state.file")
	default:
		v, ro, ok := volumeAt(path.Dir(stateFile))
		if !ok || v.PersistentVolumeClaim == nil || ro {
			t.Fatalf("deployment: the folder of %s is not a writable PersistentVolumeClaim mount", stateFile)
		}
		claim := v.PersistentVolumeClaim.ClaimName
		if want.existingClaim != "" {
			if claim != want.existingClaim || len(pvcs) != 0 {
				t.Errorf("state volume claims %q with %d claims rendered, want the existing %q and none", claim, len(pvcs), want.existingClaim)
			}
		} else if !slices.ContainsFunc(pvcs, func(p *corev1.PersistentVolumeClaim) bool { return p.Name == claim }) {
			t.Errorf("state volume claims %q, which is not among the manifests", claim)
		}
		if psc.FSGroup == nil || !slices.Contains(groups, *psc.FSGroup) {
			t.Error("deployment: without fsGroup the state volume is not writable by the non-root exporter")
		}
		if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 || d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
			t.Error("deployment: a state file needs one replica and the Recreate strategy (one writer, ReadWriteOnce)")
		}
	}

	// Ports and probes.
	portNames := map[string]int32{}
	for _, p := range c.Ports {
		portNames[p.Name] = p.ContainerPort
	}
	for name, p := range map[string]*corev1.Probe{"/-/ready": c.ReadinessProbe, "/-/healthy": c.LivenessProbe} {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != name {
			t.Errorf("deployment: want an HTTP probe on %s", name)
			continue
		}
		if _, ok := portNames[p.HTTPGet.Port.String()]; !ok {
			t.Errorf("deployment: probe %s uses port %s, not a container port", name, p.HTTPGet.Port.String())
		}
	}

	// Service and ServiceMonitor.
	svc := only[*corev1.Service](t, objs)
	for k, v := range svc.Spec.Selector {
		if d.Spec.Template.Labels[k] != v {
			t.Errorf("service selector %s=%s does not match the pod's labels", k, v)
		}
	}
	svcPorts := map[string]bool{}
	for _, p := range svc.Spec.Ports {
		svcPorts[p.Name] = true
		if _, ok := portNames[p.TargetPort.String()]; !ok {
			t.Errorf("service port %s targets %s, not a container port", p.Name, p.TargetPort.String())
		}
	}
	sms := all[*monitoringv1.ServiceMonitor](objs)
	if want.serviceMonitor != (len(sms) == 1) {
		t.Fatalf("%d ServiceMonitors, want serviceMonitor=%v", len(sms), want.serviceMonitor)
	}
	for _, sm := range sms {
		for k, v := range sm.Spec.Selector.MatchLabels {
			if svc.Labels[k] != v {
				t.Errorf("ServiceMonitor selector %s=%s does not match the Service's labels", k, v)
			}
		}
		for _, ep := range sm.Spec.Endpoints {
			if !svcPorts[ep.Port] {
				t.Errorf("ServiceMonitor endpoint port %q is not a Service port", ep.Port)
			}
		}
	}
}

func hasEnv(c corev1.Container, name string) bool {
	return slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == name && (e.Value != "" || e.ValueFrom != nil) })
}
