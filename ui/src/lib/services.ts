// What each service's sign-in form asks for. Pure data and helpers, tested in services.test.ts.

import type { ServiceKind, SessionKind } from "./types";

export type ServiceForm = {
  kind: ServiceKind;
  title: string;
  defaultBaseUrl: string;
  secretLabel: string;
  secretPlaceholder: string;
  /** HBR's secret is an AccessKey pair: its ID is asked apart and joined as `ID:SECRET`. */
  keyIdLabel: string | null;
  /** Redivis and Inspect check a token by reading the destination, so they ask for it. */
  destinationLabel: string | null;
  destinationPlaceholder: string;
  blurb: string;
};

export const SERVICES: ServiceForm[] = [
  {
    kind: "trusted_twin",
    title: "Trusted Twin",
    defaultBaseUrl: "https://rest.trustedtwin.com",
    secretLabel: "Secret",
    secretPlaceholder: "Your user secret",
    keyIdLabel: null,
    destinationLabel: null,
    destinationPlaceholder: "",
    blurb: "Files become Docs on a Twin you pick.",
  },
  {
    kind: "redivis",
    title: "Redivis",
    defaultBaseUrl: "https://redivis.com/api/v1",
    secretLabel: "API token",
    secretPlaceholder: "A token with data.edit scope",
    keyIdLabel: null,
    destinationLabel: "Table",
    destinationPlaceholder: "user.dataset.table",
    blurb: "Files become raw files of a file-index table.",
  },
  {
    kind: "inspect",
    title: "Screening Eagle Inspect",
    defaultBaseUrl: "",
    secretLabel: "API token",
    secretPlaceholder: "Your Inspect API token",
    keyIdLabel: null,
    destinationLabel: "Asset ID",
    destinationPlaceholder: "00000000-0000-0000-0000-000000000000",
    blurb: "Files are attached to an asset.",
  },
  {
    kind: "hbr",
    title: "Alibaba Cloud HBR",
    defaultBaseUrl: "https://hbr.cn-hangzhou.aliyuncs.com",
    secretLabel: "AccessKey secret",
    secretPlaceholder: "AccessKey secret",
    keyIdLabel: "AccessKey ID",
    destinationLabel: null,
    destinationPlaceholder: "",
    blurb: "Files go to HBR temporary files through OSS.",
  },
];

export function serviceForm(kind: ServiceKind): ServiceForm {
  return SERVICES.find((s) => s.kind === kind) ?? SERVICES[0];
}

export function serviceTitle(kind: SessionKind): string {
  return kind === "sandbox" ? "Local sandbox" : serviceForm(kind).title;
}

/** What the form sends as the secret, or why it cannot be sent yet. */
export function secretFor(form: ServiceForm, keyId: string, secret: string): { secret: string } | { error: string } {
  if (!secret.trim()) return { error: `${form.secretLabel} is empty` };
  if (form.keyIdLabel === null) return { secret };
  const id = keyId.trim();
  if (!id) return { error: `${form.keyIdLabel} is empty` };
  if (id.includes(":")) return { error: `${form.keyIdLabel} cannot contain ":"` };
  return { secret: `${id}:${secret}` };
}

/** What a destination is called: "Twin", "Table", "Asset", "HBR". */
export function destinationNoun(kind: SessionKind): string {
  switch (kind) {
    case "redivis":
      return "Table";
    case "inspect":
      return "Asset";
    case "hbr":
      return "Temporary files";
    default:
      return "Twin";
  }
}

/** What each dropped file becomes. */
export function eachFile(kind: SessionKind): string {
  switch (kind) {
    case "redivis":
      return "each file becomes one raw file";
    case "inspect":
      return "each file is attached to the asset";
    case "hbr":
      return "each file becomes one temporary file";
    default:
      return "each file becomes one Doc";
  }
}

export function dropTitle(kind: SessionKind): string {
  return kind === "sandbox" || kind === "trusted_twin"
    ? "Drop files here to upload them as Docs to this Twin"
    : `Drop files here to upload them to ${serviceTitle(kind)}`;
}
