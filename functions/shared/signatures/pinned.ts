/**
 * What a `notation` trust entry pins (certificates, subjects), read with Node's built-ins only. Every function
 * validates its bundled config at start, and the config's signature policy must refuse a bad PEM or subject
 * there; importing the verifier (notation.ts: @peculiar/x509, asn1js, tsyringe, reflect-metadata, cbor-x) for
 * that put those libraries and their start-up work in every function's cold start, though only the scan gate
 * verifies signatures (issue #19, "Cold start"). So the config checks certificates here, and the subject parser
 * lives here and is the one the verifier uses too: the config and the verdict read a subject the same way.
 */
import { X509Certificate } from 'node:crypto';

/**
 * PEM blocks as @peculiar/x509 2.x's PemConverter finds them (its expressions, copied): the verifier decodes the
 * same PEM with it, so the config accepts exactly the blocks the verifier will read. Any block type matches;
 * a bundle's non-certificate block is then refused as "not an X.509 certificate", naming its position.
 */
const PEM_BLOCK =
  /-{5}BEGIN ([^\n]+(?=-{5}))-{5}\n(?:((?:[^:\n]+: (?:[^\n]+\n(?: +[^\n]+\n)*))+))?\n?((?:[a-zA-Z0-9=+/]+\n)+)-{5}END \1-{5}/g;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The DER bytes of each PEM block of `pem`. Throws as PemConverter.decode does. */
function decodePemBlocks(pem: string): Buffer[] {
  const text = pem.replace(/\r/g, '');
  const blocks: Buffer[] = [];
  // Headers (group 2) are skipped: the expression only matches ones that start with "key: value", so
  // PemConverter's one header error cannot arise.
  for (const m of text.matchAll(PEM_BLOCK)) {
    const base64 = (m[3] ?? '').replace(/[\n\r\t ]/g, '');
    if (base64 && !BASE64.test(base64)) throw new TypeError("Argument 'base64Text' is not Base64 encoded");
    blocks.push(Buffer.from(base64, 'base64'));
  }
  return blocks;
}

/**
 * Checks a PEM text that holds one or more `CERTIFICATE` blocks (a bundle is allowed), with the messages of the
 * verifier's `parseCertificateBundle`: throws with the reason when there is none or one cannot be read. Returns
 * how many certificates it holds. The certificates are parsed with OpenSSL (node:crypto), the library that
 * checks the chain's signatures when the gate verifies.
 */
export function checkCertificateBundle(pem: string): number {
  if (!/-----BEGIN CERTIFICATE-----/.test(pem)) {
    throw new Error('not a PEM certificate (expected "-----BEGIN CERTIFICATE-----")');
  }
  let blocks: Buffer[];
  try {
    blocks = decodePemBlocks(pem);
  } catch (e) {
    throw new Error(`not readable PEM (${(e as Error).message})`);
  }
  for (const [i, der] of blocks.entries()) {
    try {
      // Reading the subject decodes the name, as the verifier does for the pinned certificate's subject.
      new X509Certificate(der).subject;
    } catch (e) {
      throw new Error(`PEM block ${i + 1} is not an X.509 certificate (${(e as Error).message})`);
    }
  }
  return blocks.length;
}

/** A trusted subject: `*` (any), or RDNs that must all be in the signing certificate's subject. */
export interface SubjectPattern {
  readonly text: string;
  readonly any: boolean;
  readonly rdns: readonly (readonly [type: string, value: string])[];
}

/**
 * The attribute types a subject may name, by short name and by OID: @peculiar/x509's table, which names the
 * attributes of a certificate's subject that the verifier matches against (an unknown OID stays an OID).
 */
const ATTRIBUTE_OIDS: ReadonlyMap<string, string> = new Map([
  ['CN', '2.5.4.3'],
  ['L', '2.5.4.7'],
  ['ST', '2.5.4.8'],
  ['O', '2.5.4.10'],
  ['OU', '2.5.4.11'],
  ['C', '2.5.4.6'],
  ['DC', '0.9.2342.19200300.100.1.25'],
  ['E', '1.2.840.113549.1.9.1'],
  ['G', '2.5.4.42'],
  ['I', '2.5.4.43'],
  ['SN', '2.5.4.4'],
  ['T', '2.5.4.12'],
]);
const ATTRIBUTE_NAMES: ReadonlyMap<string, string> = new Map(
  [...ATTRIBUTE_OIDS].map(([name, oid]) => [oid, name]),
);

/** @peculiar/x509's string form of a name, `TYPE=value` pairs joined by `,` (next RDN) or `+` (same RDN). */
const DN_ATTRIBUTE =
  /(\d\.[\d.]*\d|[A-Za-z]+)=((?:"")|(?:".*?[^\\]")|(?:[^,+"\\](?=[,+]|$))|(?:[^,+].*?(?:[^\\][,+]))|(?:))([,+])?/g;

/** The type of an attribute as the certificate's subject names it: a known OID by its short name. */
function attributeType(type: string): string {
  // The expression's types are an OID (digits and dots) or letters only.
  if (/\d/.test(type)) return ATTRIBUTE_NAMES.get(type) ?? type;
  if (!ATTRIBUTE_OIDS.has(type)) throw new Error(`Cannot get OID for name type '${type}'`);
  return type;
}

/**
 * An attribute's value as @peculiar/x509 holds it: `#hex` as lower-case hex bytes (an odd digit count padded
 * with a leading 0), else the string without its quotes and escapes (`\\0a`, `\\0d`, `\\0g`, `\\x`).
 */
function attributeValue(value: string): string {
  if (value.startsWith('#')) {
    let hex = value.slice(1).replace(/[\n\r\t ]/g, '');
    if (!hex) return '#';
    if (!/^[0-9a-f\s]+$/i.test(hex)) throw new TypeError("Argument 'hexString' is not HEX encoded");
    if (hex.length % 2) hex = `0${hex}`;
    let out = '#';
    for (let i = 0; i < hex.length; i += 2)
      out += Number.parseInt(hex.slice(i, i + 2), 16)
        .toString(16)
        .padStart(2, '0');
    return out;
  }
  const quoted = /"(.*?[^\\])?"/.exec(value);
  // `""` has no value at all: refused below as an attribute without a value.
  const text = quoted ? (quoted[1] ?? '') : value;
  return text.replace(/\\0a/gi, '\n').replace(/\\0d/gi, '\r').replace(/\\0g/gi, '\t').replace(/\\(.)/g, '$1');
}

/**
 * The RDNs of a distinguished name's string form, as @peculiar/x509 reads it (its expression, copied) and
 * lists them (`Name.toJSON()`): each RDN's attributes grouped by type, in order.
 */
function distinguishedName(body: string): [string, string][] {
  const rdns: Map<string, string[]>[] = [];
  let level = ',';
  for (const m of `${body},`.matchAll(DN_ATTRIBUTE)) {
    let value = m[2] ?? '';
    let next = m[3];
    const last = value[value.length - 1];
    if (last === ',' || last === '+') {
      value = value.slice(0, -1);
      next = last;
    }
    const type = attributeType(m[1]!);
    const attribute: [string, string] = [type, attributeValue(value)];
    const rdn = level === '+' ? rdns[rdns.length - 1] : undefined;
    const target = rdn ?? new Map<string, string[]>();
    if (!rdn) rdns.push(target);
    const values = target.get(attribute[0]) ?? [];
    values.push(attribute[1]);
    target.set(attribute[0], values);
    level = next ?? '';
  }
  return rdns.flatMap((rdn) =>
    [...rdn].flatMap(([type, values]) => values.map((v): [string, string] => [type, v])),
  );
}

/**
 * Parses a trusted subject: `*`, or an RFC 4514 distinguished name (Notation's `x509.subject:` prefix allowed)
 * whose attributes must all appear in the signing certificate's subject; a value may use `*` as a wildcard.
 */
export function parseSubjectPattern(text: string): SubjectPattern {
  const body = text.replace(/^\s*x509\.subject:\s*/, '').trim();
  if (body === '*') return { text, any: true, rdns: [] };
  let rdns: [string, string][];
  try {
    rdns = distinguishedName(body);
  } catch (e) {
    throw new Error(`not a distinguished name (${(e as Error).message})`);
  }
  if (rdns.length === 0) throw new Error('not a distinguished name (no attribute)');
  const empty = rdns.find(([, v]) => v === '');
  if (empty) throw new Error(`attribute ${empty[0]} has no value`);
  return { text, any: false, rdns };
}
