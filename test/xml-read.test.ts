// The one-pass XML reader against fast-xml-parser, the validator and parser the codec used
// before it: on real envelopes and thousands of seeded mutations of them, whatever the
// validator refuses the reader refuses too, and whatever the reader accepts comes out as
// the tree the parser built (the codec reads that shape). The reader is stricter than the
// validator in a few places XML 1.0 forbids, each listed in STRICTER and checked here.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { buildAcsEnvelope, buildCpeEnvelope } from '../src/cwmp/soap-build.js';
import { MAX_DEPTH, decodeEntities, readXml } from '../src/cwmp/xml-read.js';
import { mutateText, prng, soapSeeds } from './helpers/fuzz-inputs.js';
import { fixture } from './helpers/harness.js';

const SEED = Number(process.env['FUZZ_SEED'] ?? 20261207);

const reference = new XMLParser({
  ignoreAttributes: false,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  entityDecoder: { decode: decodeEntities, addInputEntities: () => {}, setExternalEntities: () => {}, reset: () => {}, setXmlVersion: () => {} },
  isArray: (_name, _path, _leaf, isAttribute) => !isAttribute,
  jPath: false,
});

/** The document's elements as the reference parser gives them (its prolog keys and inter-root text dropped). */
function referenceTree(s: string): unknown {
  const doc = reference.parse(s) as Record<string, unknown>;
  return Object.fromEntries(Object.entries(doc).filter(([k]) => !k.startsWith('?') && k !== '#text'));
}

/**
 * Where the reader refuses what the validator lets through (XML 1.0 says these are not
 * well-formed): each test names the section.
 */
const STRICTER: Array<[RegExp, string]> = [
  [/a second root element/, 'section 2.1: one root element'],
  [/does not start a reference/, 'section 4.1: a reference needs a name or digits'],
  [/processing instruction is not allowed/, 'SOAP 1.1 section 3: no processing instructions'],
  [/malformed XML declaration/, 'section 2.8: XMLDecl'],
  [/CDATA section outside the root element/, 'section 2.1: content lives inside the root element'],
  [/'<!' starts neither/, 'section 2.5/2.7: <! starts a comment or CDATA section only'],
  [/without a valid name|does not start a valid tag name/, 'section 2.3: Name'],
  [/without a space before it/, 'section 3.1: attributes are separated by white space'],
  [/not closed by '>'|not closed$|start tag '.*' not closed/, 'section 3.1: tags end with >'],
];

const soapCorpus = (): string[] => {
  const dir = fixture('cwmp');
  const files = readdirSync(dir).filter((f) => f.endsWith('.xml') && f !== 'malformed.xml');
  return files.map((f) => readFileSync(`${dir}/${f}`, 'utf8').replace(/^\uFEFF/, '').trim());
};

describe('readXml: one pass, what the validator refused is refused, what is read is the tree the parser built', () => {
  it('reads every real envelope as the reference parser does', () => {
    const corpus = [
      ...soapCorpus(),
      buildAcsEnvelope({ method: 'InformResponse', maxEnvelopes: 1 }, { id: 'id-1' }),
      buildCpeEnvelope({ method: 'GetRPCMethods' }, { id: 'id-2' }),
      buildAcsEnvelope({ method: 'GetParameterValues', names: ['Device.', 'A&B <x>'] }, { id: 'id-3', holdRequests: true }),
    ];
    expect(corpus.length).toBeGreaterThan(10);
    for (const s of corpus) {
      expect(XMLValidator.validate(s)).toBe(true);
      const read = readXml(s);
      if ('error' in read) throw new Error(`refused a real envelope: ${read.error.msg} at ${read.error.line}:${read.error.col}\n${s.slice(0, 200)}`);
      expect(read.doc).toEqual(referenceTree(s));
    }
  });

  it(`agrees with the validator and the parser on 20,000 seeded mutations (seed ${SEED})`, () => {
    const rand = prng(SEED);
    const seeds = soapSeeds().map((s) => s.trim());
    const counts = { refusedByBoth: 0, readByBoth: 0, stricter: 0 };
    const stricterSeen = new Set<string>();
    for (let k = 0; k < 20_000; k++) {
      const s = mutateText(rand, seeds[k % seeds.length]!).replace(/^\uFEFF/, '').trim();
      if (s === '' || /<!DOCTYPE|<!doctype/.test(s)) continue; // refused before parsing (soap-parse.ts)
      // What the codec accepted before: the validator passed it and the parser did not throw.
      let valid = XMLValidator.validate(s) === true;
      let tree: unknown;
      if (valid) {
        try {
          tree = referenceTree(s);
        } catch {
          valid = false;
        }
      }
      const read = readXml(s);
      if ('error' in read) {
        if (!valid) {
          counts.refusedByBoth++;
          continue;
        }
        const why = STRICTER.find(([re]) => re.test(read.error.msg));
        if (!why) throw new Error(`refused what the validator accepts: ${read.error.msg} at ${read.error.line}:${read.error.col}\n${JSON.stringify(s)}`);
        stricterSeen.add(why[1]);
        counts.stricter++;
        continue;
      }
      if (!valid) throw new Error(`accepted what the validator or the parser refuses (${JSON.stringify(XMLValidator.validate(s))}):\n${JSON.stringify(s)}`);
      expect(read.doc).toEqual(tree);
      counts.readByBoth++;
    }
    // The mutations exercise both sides: many refused by both, many read by both.
    expect(counts.refusedByBoth).toBeGreaterThan(1000);
    expect(counts.readByBoth).toBeGreaterThan(1000);
  });

  it('refuses, with line and column, what XML 1.0 forbids', () => {
    const cases: Array<[string, RegExp, number, number]> = [
      ['<a><b></a></b>', /expected the end tag of 'b' \(opened at 1:4\) instead of 'a'/, 1, 7],
      ['<a x=1/>', /value of attribute 'x' not quoted/, 1, 6],
      ['<a x="1" x="2"/>', /attribute 'x' given twice/, 1, 12],
      ['<a x/>', /attribute 'x' without a value/, 1, 5],
      ['<a>\n  &</a>', /'&' does not start a reference/, 2, 3],
      ['<a>x</a>junk', /text after the root element/, 1, 9],
      ['<a/><b/>', /a second root element 'b'/, 1, 5],
      ['<a><?xml version="1.0"?></a>', /XML declaration allowed only at the start/, 1, 4],
      ['<?xml version="1.0" encoding="UTF-8ding="UTF-8"?><a/>', /malformed XML declaration/, 1, 1],
      ['<a><?php echo 1 ?></a>', /processing instruction is not allowed/, 1, 4],
      ['<a><!-- x</a>', /comment not closed/, 1, 4],
      ['<a><![CDATA[x</a>', /CDATA section not closed/, 1, 4],
      ['<a>', /'a' not closed/, 1, 1],
      ['</a>', /end tag 'a' has no start tag/, 1, 1],
      ['<1a/>', /'<' does not start a valid tag name/, 1, 2],
      ['< a/>', /space after '<'/, 1, 2],
      ['<a x="1"y="2"/>', /without a space before it/, 1, 9],
      ['<a><!DOCTYPE x></a>', /Document Type Declaration is not allowed/, 1, 4],
      ['plain text', /text before the root element/, 1, 1],
    ];
    for (const [s, msg, line, col] of cases) {
      const read = readXml(s);
      if (!('error' in read)) throw new Error(`accepted ${JSON.stringify(s)}`);
      expect(read.error.msg).toMatch(msg);
      expect([s, read.error.line, read.error.col]).toEqual([s, line, col]);
    }
  });

  it(`refuses nesting deeper than ${MAX_DEPTH} and reads it up to there`, () => {
    const nest = (d: number) => `${'<a>'.repeat(d)}x${'</a>'.repeat(d)}`;
    expect('doc' in readXml(nest(MAX_DEPTH))).toBe(true);
    const deep = readXml(nest(MAX_DEPTH + 1));
    expect('error' in deep && deep.error.msg).toBe(`elements nested deeper than ${MAX_DEPTH}`);
  });

  it('decodes the predefined entities and character references, in text and attributes; others stay as written', () => {
    const read = readXml('<a v="&lt;&#65;&#x42;&quot;">&amp;&apos;&gt;&#233;&undeclared;<![CDATA[&amp;]]></a>');
    expect(read).toEqual({ doc: { a: [{ '@_v': '<AB"', '#text': "&'>é&undeclared;&amp;" }] } });
  });
});

describe('readXml: element and attribute names that are also Object.prototype names', () => {
  it('constructor, toString and __proto__ are plain elements and attributes', () => {
    const read = readXml('<a toString="t"><constructor>1</constructor><__proto__/><hasOwnProperty>2</hasOwnProperty></a>');
    if (!('doc' in read)) throw new Error(read.error.msg);
    const a = (read.doc as Record<string, Array<Record<string, unknown>>>)['a']![0]!;
    expect(Object.keys(a).sort()).toEqual(['@_toString', '__proto__', 'constructor', 'hasOwnProperty']);
    expect([a['constructor'], a['__proto__'], a['hasOwnProperty'], a['@_toString']]).toEqual([['1'], [''], ['2'], 't']);
  });
});
