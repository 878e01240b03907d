// bvshim does a containerd shim's part of serving a container's boot artifacts with
// bootviewfs, on containerd's own Go client: at task Create it takes a lease, asks the
// snapshotter for a read-only View of the image's rootfs, starts bootviewfs on the mounts
// containerd returned, waits for the ready line and binds the artifacts into the
// monitor's rootfs; at task Delete (or at Stop after a crash of the shim) it undoes all of
// that in reverse order, whatever is left of it.
//
// It is the program docs/integration.md quotes, and what the tests run: in the VM against
// containerd's devmapper snapshotter (tests/integration/containerd.sh), and on the host
// with an image file in place of a View (tests/integration/shim_client.sh).
//
//	bvshim create --bundle DIR --id ID (--image REF | --source FILE) [options]
//	bvshim delete --bundle DIR --id ID [--source FILE] [options]
//	bvshim bench  --image REF --runs N [options]
//
// Every name it makes is derived from the bundle and the container id, so a shim that was
// killed and restarted finds them all again: the lease is "bootviewfs-ID", the View
// "bootviewfs-view-ID", and the bundle holds bootviewfs/ (the view's state directory),
// rootfs-view-mount/ (where the view serves), mounts.json (what the snapshotter returned)
// and monitor-rootfs/ (where the artifacts are bound).
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/containerd/leases"
	"github.com/containerd/containerd/mount"
	"github.com/containerd/containerd/namespaces"
	"github.com/opencontainers/image-spec/identity"
)

// options are the command line, shared by the three commands.
type options struct {
	bundle      string
	id          string
	image       string // image reference: the View is made by containerd
	source      string // an image file instead of a View (no containerd)
	fsType      string // the filesystem type to announce for --source
	address     string
	namespace   string
	snapshotter string
	bootviewfs  string
	artifacts   []string
	timeout     time.Duration
	hold        bool // crash tests: after the binds, wait to be killed
	runs        int
}

type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" {
		fmt.Println("usage: bvshim create|delete|bench [options]; bvshim COMMAND --help lists them")
		os.Exit(0)
	}
	cmd := os.Args[1]
	o, err := parseOptions(cmd, os.Args[2:])
	if err == nil {
		switch cmd {
		case "create":
			err = create(o)
		case "delete":
			err = deleteView(o)
		case "bench":
			err = bench(o)
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "bvshim %s: %v\n", cmd, err)
		os.Exit(1)
	}
}

func parseOptions(cmd string, args []string) (*options, error) {
	switch cmd {
	case "create", "delete", "bench":
	default:
		fmt.Fprintf(os.Stderr, "bvshim: unknown command '%s' (create, delete or bench)\n", cmd)
		os.Exit(2)
	}
	o := &options{}
	var artifacts stringList
	fs := flag.NewFlagSet("bvshim "+cmd, flag.ExitOnError)
	fs.StringVar(&o.bundle, "bundle", "", "the container's bundle directory")
	fs.StringVar(&o.id, "id", "", "the container id")
	fs.StringVar(&o.image, "image", "", "image reference whose rootfs the View shows")
	fs.StringVar(&o.source, "source", "", "serve this image file instead of a View (delete: there is no View)")
	fs.StringVar(&o.fsType, "fs-type", "ext4", "filesystem type announced for --source")
	fs.StringVar(&o.address, "address", "/run/containerd/containerd.sock", "containerd socket")
	fs.StringVar(&o.namespace, "namespace", "default", "containerd namespace")
	fs.StringVar(&o.snapshotter, "snapshotter", "devmapper", "containerd snapshotter")
	fs.StringVar(&o.bootviewfs, "bootviewfs", "bootviewfs", "the bootviewfs binary")
	fs.Var(&artifacts, "artifact", "a file the monitor needs (repeatable; default /unikernel/kernel and /urunc.json)")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "how long to wait for the ready line")
	fs.BoolVar(&o.hold, "hold", false, "after the binds, print the ready line and wait to be killed (crash tests)")
	fs.IntVar(&o.runs, "runs", 5, "bench: runs per path")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	o.artifacts = artifacts
	if len(o.artifacts) == 0 {
		o.artifacts = []string{"/unikernel/kernel", "/urunc.json"}
	}
	switch {
	case fs.NArg() != 0:
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case cmd == "bench" && o.image == "":
		return nil, errors.New("bench needs --image REF")
	case cmd != "bench" && (o.bundle == "" || o.id == ""):
		return nil, errors.New("--bundle DIR and --id ID are needed")
	case cmd == "create" && (o.image == "") == (o.source == ""):
		return nil, errors.New("create needs exactly one of --image REF and --source FILE")
	}
	if o.bundle != "" {
		b, err := filepath.Abs(o.bundle)
		if err != nil {
			return nil, err
		}
		o.bundle = b
	}
	return o, nil
}

// The names of one container's pieces, all derived from the bundle and the id.
func (o *options) stateDir() string  { return filepath.Join(o.bundle, "bootviewfs") }
func (o *options) viewMount() string { return filepath.Join(o.bundle, "rootfs-view-mount") }
func (o *options) mountsFile() string {
	return filepath.Join(o.bundle, "mounts.json")
}
func (o *options) monitorRootfs() string { return filepath.Join(o.bundle, "monitor-rootfs") }
func (o *options) leaseID() string       { return "bootviewfs-" + o.id }
func (o *options) viewKey() string       { return "bootviewfs-view-" + o.id }

// create is task Create: View, bootviewfs, binds. On any failure it undoes what it did.
func create(o *options) error {
	if err := os.MkdirAll(o.bundle, 0o700); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*o.timeout)
	defer cancel()
	var mounts []mount.Mount
	if o.image != "" {
		client, err := containerd.New(o.address, containerd.WithDefaultNamespace(o.namespace),
			containerd.WithTimeout(o.timeout))
		if err != nil {
			return err
		}
		defer client.Close()
		mounts, err = createView(ctx, client, o.snapshotter, o.image, o.leaseID(), o.viewKey())
		if err != nil {
			deleteView(o)
			return err
		}
	} else {
		// What containerd's blockfile snapshotter returns for a View of an image file.
		mounts = []mount.Mount{{Type: o.fsType, Source: o.source, Options: []string{"ro", "loop"}}}
	}
	if err := writeMounts(o.mountsFile(), mounts); err != nil {
		deleteView(o)
		return err
	}
	ready, err := startView(ctx, o, o.mountsFile())
	if err != nil {
		deleteView(o)
		return err
	}
	if err := bindArtifacts(ready, o.monitorRootfs()); err != nil {
		deleteView(o)
		return err
	}
	line, _ := json.Marshal(ready)
	fmt.Printf("%s\n", line)
	if o.hold {
		// A crash test kills us here: everything is up and nobody will undo it but a
		// second run's delete, as after a shim crash.
		os.Stdout.Sync()
		select {}
	}
	return nil
}

// createView takes the container's lease and asks the snapshotter for a read-only View of
// the image's rootfs. The lease keeps the View (and the image's snapshots under it) from
// containerd's garbage collector until deleteView releases it; it outlives this process
// and has no expiry: a View collected under a serving view would fail its reads.
func createView(ctx context.Context, client *containerd.Client, snapshotter, ref, leaseID,
	key string) ([]mount.Mount, error) {
	ctx, _, err := client.WithLease(ctx, leases.WithID(leaseID))
	if err != nil {
		return nil, fmt.Errorf("lease %s: %w", leaseID, err)
	}
	image, err := client.GetImage(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", ref, err)
	}
	diffIDs, err := image.RootFS(ctx)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", ref, err)
	}
	parent := identity.ChainID(diffIDs).String()
	mounts, err := client.SnapshotService(snapshotter).View(ctx, key, parent)
	if err != nil {
		return nil, fmt.Errorf("view of %s: %w", parent, err)
	}
	return mounts, nil
}

func writeMounts(file string, mounts []mount.Mount) error {
	b, err := json.Marshal(mounts)
	if err != nil {
		return err
	}
	return os.WriteFile(file, append(b, '\n'), 0o600)
}

// startView starts bootviewfs for one container and waits for its ready line.
func startView(ctx context.Context, o *options, mountsJSON string) (*ViewReady, error) {
	args := []string{"--state-dir", o.stateDir(), "--ready-fd", "3", "--id", o.id}
	for _, a := range o.artifacts {
		args = append(args, "--require", a)
	}
	args = append(args, "--mounts-json", mountsJSON, o.viewMount())
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	cmd := exec.Command(o.bootviewfs, args...)
	cmd.ExtraFiles = []*os.File{w} // becomes fd 3 in the child
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil, err
	}
	w.Close() // only the daemon may hold the write end: EOF then means it died

	type result struct {
		line []byte
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		line, err := bufio.NewReader(r).ReadBytes('\n')
		ch <- result{line, err}
	}()
	var res result
	select {
	case res = <-ch:
	case <-time.After(o.timeout):
		res.err = fmt.Errorf("bootviewfs: no ready line in %v", o.timeout)
	case <-ctx.Done():
		res.err = ctx.Err()
	}
	waitErr := cmd.Wait() // the starter exits once the daemon is ready, or has failed
	var ready ViewReady
	if res.err == nil {
		res.err = json.Unmarshal(res.line, &ready)
	} else if errors.Is(res.err, io.EOF) {
		res.err = fmt.Errorf("bootviewfs: the daemon died before ready: %s",
			strings.TrimSpace(stderr.String()))
	}
	if res.err == nil && ready.Status != "ready" {
		res.err = fmt.Errorf("bootviewfs: %s", ready.Error)
	}
	if res.err == nil && waitErr != nil {
		res.err = fmt.Errorf("bootviewfs: %v: %s", waitErr, stderr.String())
	}
	if res.err != nil {
		stopView(o.bootviewfs, o.stateDir()) // whatever happened, leave nothing behind
		return nil, res.err
	}
	return &ready, nil
}

// ViewReady is bootviewfs's ready line.
type ViewReady struct {
	Status     string `json:"status"`
	Error      string `json:"error,omitempty"`
	Pid        int    `json:"pid"`
	Mountpoint string `json:"mountpoint"`
	FS         string `json:"fs"`
	Artifacts  []struct {
		Path string `json:"path"`
		Size int64  `json:"size"`
		Ino  uint64 `json:"ino"`
	} `json:"artifacts"`
}

// bindArtifacts binds each artifact of the view, read-only, at the same path under
// rootfs (the monitor's root filesystem). In export mode a path of the view always names a
// file of the image, never a symlink the host would follow.
func bindArtifacts(ready *ViewReady, rootfs string) error {
	for _, a := range ready.Artifacts {
		src := filepath.Join(ready.Mountpoint, a.Path)
		dst := filepath.Join(rootfs, a.Path)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		f.Close()
		if err := syscall.Mount(src, dst, "", syscall.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind %s: %w", dst, err)
		}
		flags := uintptr(syscall.MS_BIND | syscall.MS_REMOUNT | syscall.MS_RDONLY |
			syscall.MS_NOSUID | syscall.MS_NODEV)
		if err := syscall.Mount("", dst, "", flags, ""); err != nil {
			return fmt.Errorf("read-only bind %s: %w", dst, err)
		}
	}
	return nil
}

// deleteView is task Delete, and Stop after a shim crash: binds, view, View, lease, in
// that order, each step whatever became of the others. It is idempotent.
func deleteView(o *options) error {
	var errs []string
	if err := unbindArtifacts(o.monitorRootfs()); err != nil {
		errs = append(errs, err.Error())
	} else if err := os.RemoveAll(o.monitorRootfs()); err != nil {
		errs = append(errs, err.Error())
	}
	if err := stopView(o.bootviewfs, o.stateDir()); err != nil {
		// The device may still be open: removing the View now would fail or worse.
		return err
	}
	if o.source == "" {
		if err := releaseView(o); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if err := os.Remove(o.mountsFile()); err != nil && !os.IsNotExist(err) {
		errs = append(errs, err.Error())
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

// stopView runs at task Delete, after the shim has unmounted its own bind mounts.
func stopView(bootviewfs, stateDir string) error {
	out, err := exec.Command(bootviewfs, "stop",
		"--state-dir", stateDir, "--timeout", "10").CombinedOutput()
	if err != nil {
		return fmt.Errorf("bootviewfs stop: %v: %s", err, out)
	}
	return nil // device closed; the snapshot and the bundle can be removed
}

// releaseView removes the View snapshot and releases the lease; both may be gone already.
func releaseView(o *options) error {
	client, err := containerd.New(o.address, containerd.WithDefaultNamespace(o.namespace),
		containerd.WithTimeout(o.timeout))
	if err != nil {
		return err
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(namespaces.WithNamespace(context.Background(),
		o.namespace), o.timeout)
	defer cancel()
	err = client.SnapshotService(o.snapshotter).Remove(ctx, o.viewKey())
	if err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("remove view %s: %w", o.viewKey(), err)
	}
	err = client.LeasesService().Delete(ctx, leases.Lease{ID: o.leaseID()},
		leases.SynchronousDelete)
	if err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("release lease %s: %w", o.leaseID(), err)
	}
	return nil
}

// unbindArtifacts lazily unmounts every mount at or below rootfs, deepest first; a bind
// of a stopped view is dead but still pins the path it sits on.
func unbindArtifacts(rootfs string) error {
	for {
		points, err := mountsBelow(rootfs)
		if err != nil || len(points) == 0 {
			return err
		}
		for _, p := range points {
			err := syscall.Unmount(p, syscall.MNT_DETACH|0x8 /* UMOUNT_NOFOLLOW */)
			if err != nil && err != syscall.EINVAL && err != syscall.ENOENT {
				return fmt.Errorf("unmount %s: %w", p, err)
			}
		}
	}
}

// mountsBelow lists the mount points at or below dir in this mount namespace, deepest
// (longest) first.
func mountsBelow(dir string) ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var points []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		p := unescapeMountinfo(fields[4])
		if p == dir || strings.HasPrefix(p, dir+"/") {
			points = append(points, p)
		}
	}
	sort.Slice(points, func(i, j int) bool { return len(points[i]) > len(points[j]) })
	return points, sc.Err()
}

// unescapeMountinfo undoes the kernel's octal escapes (\040 for a space, ...).
func unescapeMountinfo(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			var v int
			if _, err := fmt.Sscanf(s[i+1:i+4], "%3o", &v); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
