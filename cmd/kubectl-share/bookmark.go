package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
)

// secretKeyURL is where the operator writes the whole bookmark in its key
// Secret when the manager knows its listener's external URL
// (--pushkey-base-url).
const secretKeyURL = "url"

// bookmark is a link's push-key bookmark.
type bookmark struct {
	Link   string `json:"link"`
	Secret string `json:"secret"`
	// URL is the whole bookmark, when known.
	URL string `json:"url,omitempty"`
	// Path is the bookmark without the listener's address, with the key.
	Path string `json:"path"`
	// Complete says URL is known: from the Secret's url key, or from
	// --base-url.
	Complete bool `json:"complete"`
}

func newBookmarkCmd(o *options) *cobra.Command {
	var out, baseURL string
	var qr, invert bool
	cmd := &cobra.Command{
		Use:   "bookmark LINK",
		Short: "Print the link's push-key bookmark URL, or show it as a QR code for a phone",
		Long: `bookmark prints the URL that asks the link for a refresh when opened: the url
key of the operator's {link}-push-key Secret, which the operator writes when
the manager runs with --pushkey-base-url. Without it only the path and key are
known (status.pushKey and the Secret's pushKey): bookmark says so, prints the
path, and completes it with --base-url, the push-key listener's address as
your users reach it.

--qr draws the URL as a QR code in the terminal, for a crew to scan and save
to a phone's home screen. The URL holds the key: whoever has it can ask for
refreshes (nothing else), so share it as you would a password; rotate it by
deleting the operator's Secret.`,
		Example: `  kubectl share bookmark acme
  kubectl share bookmark acme --qr
  kubectl share bookmark acme --base-url https://share.example.com --qr`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(out); err != nil {
				return err
			}
			if qr && out != "" {
				return fmt.Errorf("--qr draws for people; leave out -o")
			}
			return o.bookmark(cmd.Context(), args[0], baseURL, out, qr, invert)
		},
	}
	outputFlag(cmd, &out)
	cmd.Flags().BoolVar(&qr, "qr", false, "draw the URL as a QR code")
	cmd.Flags().BoolVar(&invert, "invert", false, "with --qr off a terminal: draw for dark text on a light background (default: for light text on a dark one)")
	cmd.Flags().StringVar(&baseURL, "base-url", "", "the push-key listener's external URL, when the manager runs without --pushkey-base-url")
	return cmd
}

func (o *options) bookmark(ctx context.Context, name, baseURL, out string, qr, invert bool) error {
	l, err := o.linkNamed(ctx, name)
	if err != nil {
		return err
	}
	b, err := o.readBookmark(ctx, l, baseURL)
	if err != nil {
		return err
	}
	if out != "" {
		return printStructured(o.streams.Out, out, b)
	}
	if !b.Complete {
		fmt.Fprintf(o.streams.ErrOut,
			"The manager runs without --pushkey-base-url, so Secret %s holds the key but not the whole URL.\n"+
				"The bookmark is the push-key listener's address as your users reach it, followed by the path below;\n"+
				"give that address with --base-url (or start the manager with --pushkey-base-url).\n", b.Secret)
		if qr {
			return fmt.Errorf("a QR code needs the whole URL: give --base-url")
		}
		fmt.Fprintln(o.streams.Out, b.Path)
		return nil
	}
	if !qr {
		fmt.Fprintln(o.streams.Out, b.URL)
		return nil
	}
	code, err := encodeQR(b.URL)
	if err != nil {
		return err
	}
	style := qrDarkBackground
	switch {
	case o.colors(o.streams.Out).on:
		style = qrColour
	case invert:
		style = qrLightBackground
	}
	fmt.Fprint(o.streams.Out, renderQR(code, style))
	fmt.Fprintf(o.streams.Out, "%s\n", b.URL)
	return nil
}

// readBookmark finds the link's bookmark: the Secret's url, else the path
// from status and the key from the Secret, completed by baseURL if given.
func (o *options) readBookmark(ctx context.Context, l *sharev1.ShareLink, baseURL string) (bookmark, error) {
	st := l.Status.PushKey
	if st == nil || st.SecretName == "" {
		return bookmark{}, fmt.Errorf("ShareLink %s has no bookmark yet (status.pushKey is empty): the operator has not handled the link, "+
			"or the manager's push-key listener is off (--pushkey-bind-address=0); Ready says: %s", l.Name, readyMessage(l))
	}
	c, err := o.client()
	if err != nil {
		return bookmark{}, err
	}
	var s corev1.Secret
	if err := c.Get(ctx, client.ObjectKey{Namespace: l.Namespace, Name: st.SecretName}, &s); err != nil {
		if apierrors.IsNotFound(err) {
			return bookmark{}, fmt.Errorf("the bookmark's Secret %s of ShareLink %s is gone; the operator makes a new key on the link's next reconcile", st.SecretName, l.Name)
		}
		return bookmark{}, o.explain(fmt.Errorf("reading Secret %s: %w", st.SecretName, err))
	}
	key := strings.TrimSpace(string(s.Data[sharev1.SecretKeyPushKey]))
	if key == "" {
		return bookmark{}, fmt.Errorf("the bookmark's Secret %s has no %s key", st.SecretName, sharev1.SecretKeyPushKey)
	}
	path := st.Path
	if path == "" {
		path = "/api/?apiKey="
	}
	b := bookmark{Link: l.Name, Secret: st.SecretName, Path: path + key}
	switch u := strings.TrimSpace(string(s.Data[secretKeyURL])); {
	case baseURL != "":
		b.URL, b.Complete = strings.TrimRight(baseURL, "/")+b.Path, true
	case u != "":
		b.URL, b.Complete = u, true
	}
	return b, nil
}

func readyMessage(l *sharev1.ShareLink) string {
	state, msg := readyWords(l.Status.Conditions)
	return state + ", " + msg
}
