// Command kfake runs franz-go's fake Kafka cluster (pkg/kfake) for kafka-wire's
// compatibility matrix. kfake takes one security setting per cluster, so it
// starts three clusters that mirror the embedded broker's ports: node n listens
// on base+10(n-1) +0 plaintext, +1 SASL over plaintext, +2 TLS. When all three
// listen it prints one JSON line and runs until SIGINT/SIGTERM or, with
// -watch-stdin, until its standard input closes, so it cannot outlive its parent.
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// The SASL user, the same as the embedded broker's, seeded for every mechanism kfake knows.
const (
	saslUser     = "kafkawire"
	saslPassword = "kafkawire-secret"
)

var saslMechanisms = []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"}

type ready struct {
	Ready          bool              `json:"ready"`
	Pid            int               `json:"pid"`
	KfakeVersion   string            `json:"kfakeVersion"`
	FranzGoVersion string            `json:"franzGoVersion"`
	Brokers        int               `json:"brokers"`
	Bootstrap      map[string]string `json:"bootstrap"`
	Sasl           saslInfo          `json:"sasl"`
	CaFile         string            `json:"caFile"`
}

type saslInfo struct {
	Username   string   `json:"username"`
	Password   string   `json:"password"`
	Mechanisms []string `json:"mechanisms"`
}

func main() {
	portBase := flag.Int("port-base", 39092, "first port of node 1 (node n uses base+10(n-1) +0 plaintext, +1 SASL, +2 TLS)")
	brokers := flag.Int("brokers", 1, "brokers in each cluster")
	partitions := flag.Int("partitions", 3, "partitions of a topic created with -1 partitions")
	dir := flag.String("dir", "", "where to write the TLS CA certificate (default: a new temporary directory)")
	watchStdin := flag.Bool("watch-stdin", false, "exit when standard input closes")
	logLevel := flag.String("log", "none", "kfake's log on stderr: none, error, warn, info or debug")
	flag.Parse()
	level, ok := logLevels[*logLevel]
	if !ok {
		fmt.Fprintf(os.Stderr, "kfake: -log %q is not one of none, error, warn, info, debug\n", *logLevel)
		os.Exit(2)
	}
	if err := run(*portBase, *brokers, *partitions, *dir, *watchStdin, level); err != nil {
		fmt.Fprintln(os.Stderr, "kfake:", err)
		os.Exit(1)
	}
}

var logLevels = map[string]kfake.LogLevel{
	"none":  kfake.LogLevelNone,
	"error": kfake.LogLevelError,
	"warn":  kfake.LogLevelWarn,
	"info":  kfake.LogLevelInfo,
	"debug": kfake.LogLevelDebug,
}

func run(portBase, brokers, partitions int, dir string, watchStdin bool, level kfake.LogLevel) error {
	if brokers < 1 || brokers > 9 {
		return fmt.Errorf("-brokers %d must be 1 to 9", brokers)
	}
	if portBase < 1024 || portBase+10*(brokers-1)+2 > 65535 {
		return fmt.Errorf("-port-base %d out of range", portBase)
	}
	if dir == "" {
		tmp, err := os.MkdirTemp("", "kfake-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	serverTLS, caFile, err := makeTLS(dir)
	if err != nil {
		return fmt.Errorf("making TLS material: %w", err)
	}
	ports := func(offset int) []int {
		out := make([]int, brokers)
		for i := range out {
			out[i] = portBase + 10*i + offset
		}
		return out
	}
	common := []kfake.Opt{kfake.DefaultNumPartitions(partitions), kfake.ClusterID("kfake-kafka-wire")}
	if level != kfake.LogLevelNone {
		common = append(common, kfake.WithLogger(kfake.BasicLogger(os.Stderr, level)))
	}
	sasl := []kfake.Opt{kfake.EnableSASL()}
	for _, m := range saslMechanisms {
		sasl = append(sasl, kfake.Superuser(m, saslUser, saslPassword))
	}
	listeners := []struct {
		name string
		opts []kfake.Opt
	}{
		{"plaintext", []kfake.Opt{kfake.Ports(ports(0)...)}},
		{"saslPlaintext", append([]kfake.Opt{kfake.Ports(ports(1)...)}, sasl...)},
		{"ssl", []kfake.Opt{kfake.Ports(ports(2)...), kfake.TLS(serverTLS)}},
	}
	info := ready{
		Ready:     true,
		Pid:       os.Getpid(),
		Brokers:   brokers,
		Bootstrap: map[string]string{},
		Sasl:      saslInfo{saslUser, saslPassword, saslMechanisms},
		CaFile:    caFile,
	}
	info.KfakeVersion, info.FranzGoVersion = moduleVersions()
	var clusters []*kfake.Cluster
	defer func() {
		for _, c := range clusters {
			c.Close()
		}
	}()
	for _, l := range listeners {
		c, err := kfake.NewCluster(append(l.opts, common...)...)
		if err != nil {
			return fmt.Errorf("starting the %s cluster: %w", l.name, err)
		}
		clusters = append(clusters, c)
		info.Bootstrap[l.name] = strings.Join(c.ListenAddrs(), ",")
	}
	line, err := json.Marshal(info)
	if err != nil {
		return err
	}
	fmt.Println(string(line))

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	if watchStdin {
		go func() {
			io.Copy(io.Discard, os.Stdin)
			stop <- syscall.SIGHUP
		}()
	}
	<-stop
	return nil
}

// moduleVersions reads the kfake and franz-go versions this binary was built with.
func moduleVersions() (kfakeVersion, franzGoVersion string) {
	build, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown", "unknown"
	}
	for _, dep := range build.Deps {
		switch dep.Path {
		case "github.com/twmb/franz-go/pkg/kfake":
			kfakeVersion = dep.Version
		case "github.com/twmb/franz-go":
			franzGoVersion = dep.Version
		}
	}
	return kfakeVersion, franzGoVersion
}

// makeTLS makes a throwaway CA and a server certificate for 127.0.0.1 and
// localhost that it signs, and writes the CA's PEM for clients to trust.
func makeTLS(dir string) (*tls.Config, string, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, "", err
	}
	now := time.Now()
	caTemplate := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "kafka-wire kfake CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTemplate, caTemplate, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, "", err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, "", err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, "", err
	}
	template := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, template, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, "", err
	}
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o644); err != nil {
		return nil, "", err
	}
	cert := tls.Certificate{Certificate: [][]byte{der, caDER}, PrivateKey: key}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, caFile, nil
}
