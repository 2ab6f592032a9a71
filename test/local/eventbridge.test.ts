/**
 * The local EventBridge: pattern semantics (one table per operator, negatives included), properties of the
 * matcher, and the rules of the synthesized stack routing AWS's sample events to the right targets.
 */
import { readFileSync } from 'node:fs';
import { App, type CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../functions/shared/config/load.js';
import type { StewardConfig } from '../../functions/shared/config/schema.js';
import { EcrStewardStack } from '../../lib/stacks/ecr-steward-stack.js';
import {
  compilePattern,
  EventPatternError,
  EventRouter,
  matchesPattern,
  type RouteMatch,
  rulesFromTemplate,
  schedulesFromTemplate,
  type TemplateRule,
} from '../../local/eventbridge.js';
import { loadEvent, pushEvent } from '../fixtures/events.js';

const RUNS = { numRuns: 300, seed: 20260601 } as const;

type Row = [description: string, pattern: unknown, event: unknown, expected: boolean];

/** Runs one operator's table: every row states whether the event matches. */
function table(rows: Row[]) {
  it.each(rows)('%s', (_description, pattern, event, expected) => {
    expect(matchesPattern(pattern, event)).toBe(expected);
  });
}

// ------------------------------------------------------------------------------------------- semantics

describe('matchesPattern', () => {
  describe('exact values', () => {
    table([
      ['matches an equal string', { source: ['aws.ecr'] }, { source: 'aws.ecr' }, true],
      ['rejects a different string', { source: ['aws.ecr'] }, { source: 'aws.ec2' }, false],
      ['is case-sensitive', { source: ['aws.ecr'] }, { source: 'AWS.ECR' }, false],
      ['rejects an absent field', { source: ['aws.ecr'] }, { 'detail-type': 'x' }, false],
      ['matches any of the listed values (OR)', { s: ['a', 'b', 'c'] }, { s: 'b' }, true],
      ['rejects a value outside the list', { s: ['a', 'b'] }, { s: 'd' }, false],
      ['matches an equal number', { n: [5] }, { n: 5 }, true],
      ['matches numbers by value, not by text', { n: [301.8] }, JSON.parse('{"n": 3.018e2}'), true],
      ['does not match the string "5" with the number 5', { n: [5] }, { n: '5' }, false],
      ['does not match the number 5 with the string "5"', { n: ['5'] }, { n: 5 }, false],
      ['matches true', { b: [true] }, { b: true }, true],
      ['does not match false with true', { b: [true] }, { b: false }, false],
      ['does not match the string "true" with true', { b: [true] }, { b: 'true' }, false],
      ['matches null', { r: [null] }, { r: null }, true],
      ['does not match the empty string with null', { r: [null] }, { r: '' }, false],
      ['matches the empty string', { v: [''] }, { v: '' }, true],
      ['does not match null with the empty string', { v: [''] }, { v: null }, false],
      ['does not match an absent field with null', { r: [null] }, {}, false],
      ['does not match an object with a value list', { detail: ['x'] }, { detail: { x: 1 } }, false],
    ]);
  });

  describe('nested objects and AND', () => {
    table([
      ['matches a nested field', { detail: { state: ['running'] } }, { detail: { state: 'running' } }, true],
      [
        'rejects a wrong nested value',
        { detail: { state: ['running'] } },
        { detail: { state: 'stopped' } },
        false,
      ],
      ['rejects a missing parent', { detail: { state: ['running'] } }, { source: 'x' }, false],
      ['rejects a scalar where an object is expected', { detail: { state: ['x'] } }, { detail: 'x' }, false],
      [
        'ignores fields the pattern does not name',
        { detail: { a: [1] } },
        { detail: { a: 1, b: 2 }, source: 'x', extra: [1, { y: 2 }] },
        true,
      ],
      [
        'needs every field (AND)',
        { source: ['s'], detail: { a: [1] } },
        { source: 's', detail: { a: 2 } },
        false,
      ],
      [
        'matches when every field matches',
        { source: ['s'], detail: { a: [1] } },
        { source: 's', detail: { a: 1 } },
        true,
      ],
      ['reads keys verbatim (a dot is not a path)', { 'a.b': ['x'] }, { a: { b: 'x' } }, false],
      ['matches three levels deep', { a: { b: { c: ['d'] } } }, { a: { b: { c: 'd' } } }, true],
    ]);
  });

  describe('arrays in the event', () => {
    const employees = {
      employees: [
        { firstName: 'John', lastName: 'Doe' },
        { firstName: 'Anna', lastName: 'Smith' },
        { firstName: 'Peter', lastName: 'Jones' },
      ],
    };
    table([
      ['matches when any element matches', { resources: ['arn:b'] }, { resources: ['arn:a', 'arn:b'] }, true],
      ['rejects when no element matches', { resources: ['arn:c'] }, { resources: ['arn:a', 'arn:b'] }, false],
      ['matches a non-empty intersection', { tags: ['x', 'y'] }, { tags: ['y', 'z'] }, true],
      ['never matches an empty array', { tags: ['x'] }, { tags: [] }, false],
      ['sees through nested arrays', { n: [3] }, { n: [[1, 2], [[3]]] }, true],
      ['matches numbers in arrays', { n: [{ numeric: ['>', 10] }] }, { n: [1, 20] }, true],
      ['matches a field of any object in an array', { employees: { firstName: ['Anna'] } }, employees, true],
      [
        'matches fields of the same element',
        { employees: { firstName: ['Anna'], lastName: ['Smith'] } },
        employees,
        true,
      ],
      [
        'never combines fields from different elements',
        { employees: { firstName: ['Anna'], lastName: ['Jones'] } },
        employees,
        false,
      ],
      [
        'matches inside arrays of arrays of objects',
        { employees: { firstName: ['Peter'] } },
        { employees: [[{ firstName: 'John' }], [{ firstName: 'Peter' }]] },
        true,
      ],
      [
        'matches the Inspector finding resources shape',
        { detail: { resources: { type: ['AWS_ECR_CONTAINER_IMAGE'] } } },
        { detail: { resources: [{ type: 'AWS_EC2_INSTANCE' }, { type: 'AWS_ECR_CONTAINER_IMAGE' }] } },
        true,
      ],
      [
        'skips scalar elements when matching a nested pattern',
        { a: { b: ['x'] } },
        { a: ['b', 'x', { c: 'x' }] },
        false,
      ],
    ]);
  });

  describe('prefix', () => {
    table([
      ['matches a prefix', { time: [{ prefix: '2017-10-02' }] }, { time: '2017-10-02T18:43:48Z' }, true],
      ['matches the whole string', { s: [{ prefix: 'abc' }] }, { s: 'abc' }, true],
      [
        'rejects a different start',
        { time: [{ prefix: '2017-10-02' }] },
        { time: '2017-10-03T00:00:00Z' },
        false,
      ],
      ['is case-sensitive', { s: [{ prefix: 'EventB' }] }, { s: 'eventbridge' }, false],
      ['rejects a number', { n: [{ prefix: '12' }] }, { n: 123 }, false],
      ['rejects an absent field', { s: [{ prefix: 'a' }] }, {}, false],
      [
        'matches ignoring case with equals-ignore-case',
        { s: [{ prefix: { 'equals-ignore-case': 'EventB' } }] },
        { s: 'eventbridge' },
        true,
      ],
      [
        'still needs the prefix with equals-ignore-case',
        { s: [{ prefix: { 'equals-ignore-case': 'EventB' } }] },
        { s: 'my-eventbridge' },
        false,
      ],
      [
        'matches an element of an array',
        { r: [{ prefix: 'services/' }] },
        { r: ['web', 'services/api'] },
        true,
      ],
    ]);
  });

  describe('suffix', () => {
    table([
      ['matches a suffix', { FileName: [{ suffix: '.png' }] }, { FileName: 'image.png' }, true],
      ['rejects a different end', { FileName: [{ suffix: '.png' }] }, { FileName: 'image.jpg' }, false],
      ['is case-sensitive', { FileName: [{ suffix: '.png' }] }, { FileName: 'IMAGE.PNG' }, false],
      ['rejects a number', { n: [{ suffix: '3' }] }, { n: 123 }, false],
      [
        'matches ignoring case with equals-ignore-case',
        { FileName: [{ suffix: { 'equals-ignore-case': '.png' } }] },
        { FileName: 'IMAGE.PNG' },
        true,
      ],
      [
        'still needs the suffix with equals-ignore-case',
        { FileName: [{ suffix: { 'equals-ignore-case': '.png' } }] },
        { FileName: 'image.png.gz' },
        false,
      ],
    ]);
  });

  describe('equals-ignore-case', () => {
    table([
      [
        'matches another casing',
        { source: [{ 'equals-ignore-case': 'AWS.ECR' }] },
        { source: 'aws.ecr' },
        true,
      ],
      [
        'rejects a different string',
        { source: [{ 'equals-ignore-case': 'aws.ecr' }] },
        { source: 'aws.ec2' },
        false,
      ],
      [
        'rejects a longer string',
        { source: [{ 'equals-ignore-case': 'aws' }] },
        { source: 'aws.ecr' },
        false,
      ],
      ['rejects a non-string', { b: [{ 'equals-ignore-case': 'true' }] }, { b: true }, false],
    ]);
  });

  describe('wildcard', () => {
    table([
      [
        'matches a run of characters',
        { s: [{ wildcard: 'Simple*Service' }] },
        { s: 'SimpleQueueService' },
        true,
      ],
      ['matches an empty run', { s: [{ wildcard: 'Simple*Service' }] }, { s: 'SimpleService' }, true],
      ['is anchored at both ends', { s: [{ wildcard: 'Simple*Service' }] }, { s: 'SimpleServices' }, false],
      ['allows several wildcards', { p: [{ wildcard: 'dir/*/lib/*.so' }] }, { p: 'dir/a/b/lib/x.so' }, true],
      [
        'rejects a miss with several wildcards',
        { p: [{ wildcard: 'dir/*/lib/*.so' }] },
        { p: 'dir/lib.so' },
        false,
      ],
      ['matches any string with a lone wildcard', { s: [{ wildcard: '*' }] }, { s: '' }, true],
      ['treats an escaped asterisk literally', { s: [{ wildcard: 'a\\*b' }] }, { s: 'a*b' }, true],
      ['does not expand an escaped asterisk', { s: [{ wildcard: 'a\\*b' }] }, { s: 'axb' }, false],
      ['treats an escaped backslash literally', { s: [{ wildcard: 'a\\\\*' }] }, { s: 'a\\bc' }, true],
      ['treats regex characters literally', { s: [{ wildcard: 'a.c*' }] }, { s: 'abc' }, false],
      ['is case-sensitive', { s: [{ wildcard: 'a*' }] }, { s: 'ABC' }, false],
      ['rejects a non-string', { n: [{ wildcard: '1*' }] }, { n: 12 }, false],
    ]);
  });

  describe('anything-but', () => {
    table([
      ['matches another string', { state: [{ 'anything-but': 'initializing' }] }, { state: 'running' }, true],
      [
        'rejects the named string',
        { state: [{ 'anything-but': 'initializing' }] },
        { state: 'initializing' },
        false,
      ],
      ['needs the field to be present', { state: [{ 'anything-but': 'initializing' }] }, {}, false],
      ['matches a non-string value', { state: [{ 'anything-but': 'initializing' }] }, { state: 5 }, true],
      ['matches null', { state: [{ 'anything-but': 'x' }] }, { state: null }, true],
      ['matches another number', { x: [{ 'anything-but': 123 }] }, { x: 124 }, true],
      ['rejects the named number', { x: [{ 'anything-but': 123 }] }, { x: 123 }, false],
      ['keeps numbers and strings apart', { x: [{ 'anything-but': 123 }] }, { x: '123' }, true],
      [
        'matches outside a string list',
        { s: [{ 'anything-but': ['stopped', 'overloaded'] }] },
        { s: 'running' },
        true,
      ],
      [
        'rejects a member of a string list',
        { s: [{ 'anything-but': ['stopped', 'overloaded'] }] },
        { s: 'stopped' },
        false,
      ],
      ['matches outside a number list', { x: [{ 'anything-but': [100, 200, 300] }] }, { x: 150 }, true],
      ['rejects a member of a number list', { x: [{ 'anything-but': [100, 200, 300] }] }, { x: 200 }, false],
      [
        'matches without the prefix',
        { r: [{ 'anything-but': { prefix: 'us-' } }] },
        { r: 'eu-west-1' },
        true,
      ],
      ['rejects the prefix', { r: [{ 'anything-but': { prefix: 'us-' } }] }, { r: 'us-east-1' }, false],
      ['matches without the suffix', { f: [{ 'anything-but': { suffix: '.png' } }] }, { f: 'a.jpg' }, true],
      ['rejects the suffix', { f: [{ 'anything-but': { suffix: '.png' } }] }, { f: 'a.png' }, false],
      [
        'rejects any casing with equals-ignore-case',
        { s: [{ 'anything-but': { 'equals-ignore-case': 'initializing' } }] },
        { s: 'INITIALIZING' },
        false,
      ],
      [
        'matches other strings with equals-ignore-case',
        { s: [{ 'anything-but': { 'equals-ignore-case': ['a', 'b'] } }] },
        { s: 'C' },
        true,
      ],
      [
        'rejects any casing of a list with equals-ignore-case',
        { s: [{ 'anything-but': { 'equals-ignore-case': ['a', 'b'] } }] },
        { s: 'B' },
        false,
      ],
      [
        'matches outside a wildcard',
        { p: [{ 'anything-but': { wildcard: '*/lib/*' } }] },
        { p: '/usr/bin/x' },
        true,
      ],
      [
        'rejects a wildcard match',
        { p: [{ 'anything-but': { wildcard: '*/lib/*' } }] },
        { p: '/usr/lib/x' },
        false,
      ],
      ['matches when any array element differs', { s: [{ 'anything-but': 'a' }] }, { s: ['a', 'b'] }, true],
      [
        'rejects when every array element is excluded',
        { s: [{ 'anything-but': 'a' }] },
        { s: ['a', 'a'] },
        false,
      ],
    ]);
  });

  describe('numeric', () => {
    table([
      ['matches =', { n: [{ numeric: ['=', 301.8] }] }, { n: 301.8 }, true],
      ['rejects = on another number', { n: [{ numeric: ['=', 301.8] }] }, { n: 301.9 }, false],
      ['matches <', { n: [{ numeric: ['<', 10] }] }, { n: 9.99 }, true],
      ['rejects < at the bound', { n: [{ numeric: ['<', 10] }] }, { n: 10 }, false],
      ['matches <= at the bound', { n: [{ numeric: ['<=', 10] }] }, { n: 10 }, true],
      ['rejects <= above the bound', { n: [{ numeric: ['<=', 10] }] }, { n: 10.5 }, false],
      ['matches >', { n: [{ numeric: ['>', 0] }] }, { n: 1 }, true],
      ['rejects > at the bound', { n: [{ numeric: ['>', 0] }] }, { n: 0 }, false],
      ['matches >= at the bound', { n: [{ numeric: ['>=', 0] }] }, { n: 0 }, true],
      ['rejects >= below the bound', { n: [{ numeric: ['>=', 0] }] }, { n: -1 }, false],
      ['matches inside a range', { n: [{ numeric: ['>', 0, '<=', 5] }] }, { n: 5 }, true],
      ['rejects the open end of a range', { n: [{ numeric: ['>', 0, '<=', 5] }] }, { n: 0 }, false],
      ['rejects above a range', { n: [{ numeric: ['>=', 0, '<', 5] }] }, { n: 5 }, false],
      ['matches negative numbers', { n: [{ numeric: ['<', -1e9] }] }, { n: -5e9 }, true],
      ['rejects a numeric string', { n: [{ numeric: ['>', 0] }] }, { n: '5' }, false],
      ['rejects an absent field', { n: [{ numeric: ['>', 0] }] }, {}, false],
      [
        'matches severity counts from a scan',
        { c: { CRITICAL: [{ numeric: ['>', 0] }] } },
        { c: { CRITICAL: 10 } },
        true,
      ],
    ]);
  });

  describe('exists', () => {
    table([
      ['true matches a present string', { d: { c: [{ exists: true }] } }, { d: { c: 'x' } }, true],
      ['true matches a present null', { d: { c: [{ exists: true }] } }, { d: { c: null } }, true],
      ['true matches a present empty string', { d: { c: [{ exists: true }] } }, { d: { c: '' } }, true],
      ['true rejects an absent field', { d: { c: [{ exists: true }] } }, { d: { b: 1 } }, false],
      [
        'true rejects an object (not a leaf)',
        { d: { c: [{ exists: true }] } },
        { d: { c: { c1: 100 } } },
        false,
      ],
      ['true rejects an empty array', { d: { c: [{ exists: true }] } }, { d: { c: [] } }, false],
      ['true matches a non-empty array', { d: { c: [{ exists: true }] } }, { d: { c: [1] } }, true],
      ['false matches an absent field', { d: { c: [{ exists: false }] } }, { d: { b: 1 } }, true],
      ['false matches when the parent is absent', { d: { c: [{ exists: false }] } }, { source: 'x' }, true],
      [
        'false matches an object (not a leaf)',
        { d: { c: [{ exists: false }] } },
        { d: { c: { c1: 100 } } },
        true,
      ],
      ['false matches an empty array', { d: { c: [{ exists: false }] } }, { d: { c: [] } }, true],
      ['false rejects a present value', { d: { c: [{ exists: false }] } }, { d: { c: 0 } }, false],
      ['false rejects a present null', { d: { c: [{ exists: false }] } }, { d: { c: null } }, false],
      [
        'false rejects a field present in any element of an array',
        { d: { c: [{ exists: false }] } },
        { d: [{ b: 1 }, { c: 2 }] },
        false,
      ],
      [
        'false is checked against the whole event, not one array element',
        { d: { b: [1], c: [{ exists: false }] } },
        { d: [{ b: 1 }, { c: 2 }] },
        false,
      ],
      [
        'false combines with other fields of an element',
        { d: { b: [1], c: [{ exists: false }] } },
        { d: [{ b: 1 }, { e: 2 }] },
        true,
      ],
      ['can be one of several alternatives', { c: ['x', { exists: false }] }, {}, true],
    ]);
  });

  describe('cidr', () => {
    table([
      ['matches an IPv4 address in the block', { ip: [{ cidr: '10.0.0.0/24' }] }, { ip: '10.0.0.33' }, true],
      [
        'rejects an IPv4 address outside the block',
        { ip: [{ cidr: '10.0.0.0/24' }] },
        { ip: '10.0.1.33' },
        false,
      ],
      ['matches a /32 exactly', { ip: [{ cidr: '192.0.2.7/32' }] }, { ip: '192.0.2.7' }, true],
      ['rejects a neighbour of a /32', { ip: [{ cidr: '192.0.2.7/32' }] }, { ip: '192.0.2.8' }, false],
      ['matches everything with /0', { ip: [{ cidr: '0.0.0.0/0' }] }, { ip: '203.0.113.12' }, true],
      [
        'matches an IPv6 address in the block',
        { ip: [{ cidr: '2001:db8::/32' }] },
        { ip: '2001:db8:1::5' },
        true,
      ],
      [
        'rejects an IPv6 address outside the block',
        { ip: [{ cidr: '2001:db8::/32' }] },
        { ip: '2001:db9::5' },
        false,
      ],
      [
        'reads embedded IPv4 in IPv6',
        { ip: [{ cidr: '::ffff:10.0.0.0/120' }] },
        { ip: '0:0:0:0:0:ffff:a00:5' },
        true,
      ],
      ['does not match IPv6 with an IPv4 block', { ip: [{ cidr: '0.0.0.0/0' }] }, { ip: '::1' }, false],
      ['rejects a non-address string', { ip: [{ cidr: '10.0.0.0/8' }] }, { ip: 'AWS Internal' }, false],
      ['rejects a number', { ip: [{ cidr: '10.0.0.0/8' }] }, { ip: 10 }, false],
    ]);
  });

  describe('$or', () => {
    const or = {
      source: ['aws.cloudwatch'],
      $or: [{ metricName: ['CPUUtilization'] }, { namespace: ['AWS/EC2'], metricType: ['MetricType'] }],
    };
    table([
      ['matches the first branch', or, { source: 'aws.cloudwatch', metricName: 'CPUUtilization' }, true],
      [
        'matches the second branch only as a whole',
        or,
        { source: 'aws.cloudwatch', namespace: 'AWS/EC2', metricType: 'MetricType' },
        true,
      ],
      ['rejects half a branch', or, { source: 'aws.cloudwatch', namespace: 'AWS/EC2' }, false],
      ['still ANDs the fields outside $or', or, { source: 'aws.ec2', metricName: 'CPUUtilization' }, false],
      [
        'works inside nested objects',
        { detail: { $or: [{ a: [1] }, { b: [{ exists: true }] }] } },
        { detail: { b: null } },
        true,
      ],
      [
        'rejects when no nested branch matches',
        { detail: { $or: [{ a: [1] }, { b: [{ exists: true }] }] } },
        { detail: { a: 2 } },
        false,
      ],
      [
        'nests $or inside a branch',
        { $or: [{ a: ['x'] }, { b: ['y'], $or: [{ c: [1] }, { d: [2] }] }] },
        { b: 'y', d: 2 },
        true,
      ],
      [
        'ANDs two parallel $or',
        { $or: [{ a: [1] }, { b: [1] }], detail: { $or: [{ c: [1] }, { d: [1] }] } },
        { b: 1, detail: { c: 2 } },
        false,
      ],
    ]);
  });

  describe('invalid patterns', () => {
    it.each<[string, unknown]>([
      ['a non-object pattern', ['aws.ecr']],
      ['an empty pattern', {}],
      ['an empty nested object', { detail: {} }],
      ['an empty value list', { source: [] }],
      ['a bare value', { source: 'aws.ecr' }],
      ['a nested value list', { source: [['aws.ecr']] }],
      ['an empty match expression', { source: [{}] }],
      ['two operators in one expression', { s: [{ prefix: 'a', suffix: 'b' }] }],
      ['an unknown operator', { s: [{ contains: 'a' }] }],
      ['a non-string prefix', { s: [{ prefix: 1 }] }],
      ['a malformed prefix ignore-case', { s: [{ prefix: { 'equals-ignore-case': 1 } }] }],
      ['a non-boolean exists', { s: [{ exists: 'yes' }] }],
      ['an unknown numeric operator', { n: [{ numeric: ['!=', 1] }] }],
      ['a non-numeric bound', { n: [{ numeric: ['>', '1'] }] }],
      ['an empty numeric range', { n: [{ numeric: ['>', 5, '<', 5] }] }],
      ['an upper bound before a lower one', { n: [{ numeric: ['<', 5, '>', 1] }] }],
      ['= in a range', { n: [{ numeric: ['=', 1, '<', 5] }] }],
      ['three numeric terms', { n: [{ numeric: ['>', 0, '<', 5, '<', 6] }] }],
      ['consecutive wildcards', { s: [{ wildcard: 'a**b' }] }],
      ['a backslash escaping a letter', { s: [{ wildcard: 'a\\b' }] }],
      ['a mixed anything-but list', { s: [{ 'anything-but': ['a', 1] }] }],
      ['an empty anything-but list', { s: [{ 'anything-but': [] }] }],
      ['an empty anything-but prefix', { s: [{ 'anything-but': { prefix: '' } }] }],
      ['anything-but of a boolean', { s: [{ 'anything-but': true }] }],
      ['an unsupported anything-but operator', { s: [{ 'anything-but': { numeric: ['>', 1] } }] }],
      ['a CIDR without a prefix length', { ip: [{ cidr: '10.0.0.1' }] }],
      ['a CIDR prefix too long', { ip: [{ cidr: '10.0.0.0/33' }] }],
      ['$or with one branch', { $or: [{ a: [1] }] }],
      ['$or that is not an array', { $or: { a: [1] } }],
      ['$or with a non-object branch', { $or: [{ a: [1] }, ['b']] }],
      ['an operator name as a field inside $or', { $or: [{ a: [1] }, { prefix: ['x'] }] }],
    ])('refuses %s', (_description, pattern) => {
      expect(() => compilePattern(pattern)).toThrow(EventPatternError);
    });

    it('names the offending path', () => {
      expect(() => compilePattern({ detail: { n: [{ numeric: ['<', 5, '>', 1] }] } })).toThrow(/"detail\.n"/);
    });
  });
});

// ------------------------------------------------------------------------------------------ properties

const KEYS = ['a', 'b', 'c', 'detail', 'x-y'] as const;
const scalar = fc.oneof(
  fc.string({ maxLength: 6 }),
  fc.integer({ min: -1000, max: 1000 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
);
const { json } = fc.letrec<{ json: unknown }>((tie) => ({
  json: fc.oneof(
    { depthSize: 'small', maxDepth: 4 },
    scalar,
    fc.array(tie('json'), { maxLength: 4 }),
    fc.dictionary(fc.constantFrom(...KEYS), tie('json'), { maxKeys: 4 }),
  ),
}));
/** A JSON object event (round-tripped through JSON, so -0 and friends look as they would on the wire). */
const eventArb = fc
  .dictionary(fc.constantFrom(...KEYS), json, { minKeys: 1, maxKeys: 5 })
  .map((e) => JSON.parse(JSON.stringify(e)) as Record<string, unknown>);
const ascii = fc.stringMatching(/^[ -~]{0,8}$/);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The pattern that names every leaf of an event with its own value (undefined when it has no leaves). */
function patternOf(event: unknown): Record<string, unknown> | undefined {
  if (!isObject(event)) return undefined;
  const pattern: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(event)) {
    const field = fieldPatternOf(value);
    if (field !== undefined) pattern[key] = field;
  }
  return Object.keys(pattern).length > 0 ? pattern : undefined;
}

function fieldPatternOf(value: unknown): unknown {
  if (!Array.isArray(value)) return isObject(value) ? patternOf(value) : [value];
  const flat: unknown[] = value.flat(Number.POSITIVE_INFINITY);
  const leaves = flat.filter((v) => !isObject(v));
  if (leaves.length > 0) return leaves;
  for (const element of flat) {
    const pattern = patternOf(element);
    if (pattern) return pattern;
  }
  return undefined;
}

describe('matchesPattern properties', () => {
  it('matches every event with the pattern built from its own leaf values', () => {
    fc.assert(
      fc.property(eventArb, (event) => {
        const pattern = patternOf(event);
        fc.pre(pattern !== undefined);
        expect(matchesPattern(pattern, event)).toBe(true);
      }),
      RUNS,
    );
  });

  it('stops matching when a leaf of the own-value pattern changes to a value the event lacks', () => {
    fc.assert(
      fc.property(eventArb, fc.constantFrom(...KEYS), (event, key) => {
        const pattern = patternOf(event);
        fc.pre(pattern !== undefined && Array.isArray(pattern[key]));
        const narrowed = { ...pattern, [key]: ['\u0000not-in-any-event'] };
        expect(matchesPattern(narrowed, event)).toBe(false);
      }),
      RUNS,
    );
  });

  it('makes anything-but the complement of the exact match for present scalar values', () => {
    const value = fc.oneof(fc.string({ maxLength: 3 }), fc.integer({ min: -3, max: 3 }));
    fc.assert(
      fc.property(
        fc.oneof(
          fc.array(fc.string({ maxLength: 3 }), { minLength: 1, maxLength: 3 }),
          fc.array(fc.integer({ min: -3, max: 3 }), { minLength: 1, maxLength: 3 }),
        ),
        fc.oneof(value, fc.boolean(), fc.constant(null)),
        (excluded, v) => {
          const event = { detail: { f: v } };
          const exact = matchesPattern({ detail: { f: excluded } }, event);
          expect(matchesPattern({ detail: { f: [{ 'anything-but': excluded }] } }, event)).toBe(!exact);
        },
      ),
      RUNS,
    );
  });

  it('makes numeric ranges agree with arithmetic', () => {
    const finite = fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e9, max: 1e9 });
    fc.assert(
      fc.property(
        fc.tuple(finite, finite).filter(([a, b]) => a < b),
        finite,
        fc.constantFrom('>', '>='),
        fc.constantFrom('<', '<='),
        ([low, high], v, lowOp, highOp) => {
          const inLow = lowOp === '>' ? v > low : v >= low;
          const inHigh = highOp === '<' ? v < high : v <= high;
          const pattern = { n: [{ numeric: [lowOp, low, highOp, high] }] };
          expect(matchesPattern(pattern, { n: v })).toBe(inLow && inHigh);
        },
      ),
      RUNS,
    );
  });

  it('makes exists true and exists false complementary on any event', () => {
    fc.assert(
      fc.property(eventArb, fc.constantFrom(...KEYS), fc.constantFrom(...KEYS), (event, outer, inner) => {
        const present = matchesPattern({ [outer]: { [inner]: [{ exists: true }] } }, event);
        const absent = matchesPattern({ [outer]: { [inner]: [{ exists: false }] } }, event);
        expect(present).toBe(!absent);
      }),
      RUNS,
    );
  });

  it('matches $or exactly when one of its branches matches', () => {
    const branch = fc.dictionary(fc.constantFrom(...KEYS), fc.array(scalar, { minLength: 1, maxLength: 3 }), {
      minKeys: 1,
      maxKeys: 2,
    });
    fc.assert(
      fc.property(eventArb, branch, branch, (event, p1, p2) => {
        const either = matchesPattern(p1, event) || matchesPattern(p2, event);
        expect(matchesPattern({ $or: [p1, p2] }, event)).toBe(either);
      }),
      RUNS,
    );
  });

  it('ANDs fields: a pattern matches when each of its fields alone matches', () => {
    const values = fc.array(scalar, { minLength: 1, maxLength: 3 });
    fc.assert(
      fc.property(eventArb, values, values, (event, a, b) => {
        const both = matchesPattern({ a }, event) && matchesPattern({ b }, event);
        expect(matchesPattern({ a, b }, event)).toBe(both);
      }),
      RUNS,
    );
  });

  it('matches a wildcard of an escaped literal exactly when the string equals it', () => {
    fc.assert(
      fc.property(ascii, fc.oneof(ascii, fc.constant(undefined)), (literal, other) => {
        const candidate = other ?? literal;
        const wildcard = literal.replace(/[\\*]/g, '\\$&');
        expect(matchesPattern({ s: [{ wildcard }] }, { s: candidate })).toBe(candidate === literal);
      }),
      RUNS,
    );
  });

  it('matches prefix, suffix and equals-ignore-case on any casing of what they name', () => {
    fc.assert(
      fc.property(ascii, ascii, (s, t) => {
        expect(matchesPattern({ v: [{ prefix: s }] }, { v: s + t })).toBe(true);
        expect(matchesPattern({ v: [{ suffix: s }] }, { v: t + s })).toBe(true);
        expect(
          matchesPattern({ v: [{ prefix: { 'equals-ignore-case': s } }] }, { v: (s + t).toUpperCase() }),
        ).toBe(true);
        expect(
          matchesPattern({ v: [{ suffix: { 'equals-ignore-case': s } }] }, { v: (t + s).toLowerCase() }),
        ).toBe(true);
        expect(matchesPattern({ v: [{ 'equals-ignore-case': s }] }, { v: s.toUpperCase() })).toBe(true);
        expect(matchesPattern({ v: [{ 'anything-but': { prefix: `${s}!` } }] }, { v: `${s}!${t}` })).toBe(
          false,
        );
      }),
      RUNS,
    );
  });
});

// ------------------------------------------------------------------------------------------ templates

const resources = {
  Fn: { Type: 'AWS::Lambda::Function', Properties: {} },
  Queue: { Type: 'AWS::SQS::Queue', Properties: { FifoQueue: true } },
  Dlq: { Type: 'AWS::SQS::Queue', Properties: {} },
  Topic: { Type: 'AWS::SNS::Topic', Properties: {} },
  Bus: { Type: 'AWS::Events::EventBus', Properties: { Name: 'custom' } },
  Role: { Type: 'AWS::IAM::Role', Properties: {} },
};
const handmade = {
  Resources: {
    ...resources,
    Everything: {
      Type: 'AWS::Events::Rule',
      Properties: {
        Name: 'everything',
        State: 'ENABLED',
        EventPattern: '{"source":["aws.ecr"],"detail":{"responseElements":[null]}}',
        Targets: [
          {
            Id: 'T0',
            Arn: { 'Fn::GetAtt': ['Fn', 'Arn'] },
            Input: '{"fixed":true}',
            DeadLetterConfig: { Arn: { 'Fn::GetAtt': ['Dlq', 'Arn'] } },
            RetryPolicy: { MaximumRetryAttempts: 3 },
          },
          { Id: 'T1', Arn: { Ref: 'Topic' } },
          { Id: 'T2', Arn: { 'Fn::GetAtt': 'Queue.Arn' }, SqsParameters: { MessageGroupId: 'g1' } },
          { Id: 'T3', Arn: 'arn:aws:lambda:us-east-1:123456789012:function:elsewhere' },
          { Id: 'T4', Arn: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':states:::x']] } },
          { Id: 'T5', Arn: { 'Fn::GetAtt': ['Role', 'Arn'] } },
        ],
      },
    },
    DefaultState: {
      Type: 'AWS::Events::Rule',
      Properties: { EventPattern: { source: ['aws.ecr'] }, Targets: [{ Id: 'T', Arn: { Ref: 'Topic' } }] },
    },
    AllManagement: {
      Type: 'AWS::Events::Rule',
      Properties: {
        State: 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS',
        EventPattern: { source: ['aws.ecr'] },
      },
    },
    Disabled: {
      Type: 'AWS::Events::Rule',
      Properties: { State: 'DISABLED', EventPattern: { source: ['aws.ecr'] }, Targets: [] },
    },
    ScheduleOnly: {
      Type: 'AWS::Events::Rule',
      Properties: { State: 'ENABLED', ScheduleExpression: 'rate(1 hour)', Targets: [] },
    },
    OtherBus: {
      Type: 'AWS::Events::Rule',
      Properties: { EventBusName: { Ref: 'Bus' }, EventPattern: { source: ['app'] }, Targets: [] },
    },
    Nightly: {
      Type: 'AWS::Scheduler::Schedule',
      Properties: {
        ScheduleExpression: 'rate(1 day)',
        FlexibleTimeWindow: { Mode: 'OFF' },
        State: 'DISABLED',
        Target: { Arn: { Ref: 'Queue' }, RoleArn: { 'Fn::GetAtt': ['Role', 'Arn'] }, Input: 'hello' },
      },
    },
  },
};

describe('rulesFromTemplate', () => {
  it('keeps enabled event-pattern rules on the default bus and skips disabled, schedule-only and other-bus rules', () => {
    expect(rulesFromTemplate(handmade).map((r) => [r.logicalId, r.state])).toEqual([
      ['Everything', 'ENABLED'],
      ['DefaultState', 'ENABLED'],
      ['AllManagement', 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS'],
    ]);
  });

  it('parses a pattern given as a JSON string (the way templates carry null values)', () => {
    const [rule] = rulesFromTemplate(handmade);
    expect(rule?.pattern).toEqual({ source: ['aws.ecr'], detail: { responseElements: [null] } });
    expect(rule?.name).toBe('everything');
  });

  it('resolves each target to its logical id and kind and keeps its delivery settings', () => {
    const [rule] = rulesFromTemplate(handmade);
    expect(rule?.targets).toEqual([
      {
        id: 'T0',
        arn: { 'Fn::GetAtt': ['Fn', 'Arn'] },
        resolvedLogicalId: 'Fn',
        kind: 'lambda',
        deadLetterArn: { 'Fn::GetAtt': ['Dlq', 'Arn'] },
        retryPolicy: { MaximumRetryAttempts: 3 },
        input: '{"fixed":true}',
      },
      { id: 'T1', arn: { Ref: 'Topic' }, resolvedLogicalId: 'Topic', kind: 'sns' },
      {
        id: 'T2',
        arn: { 'Fn::GetAtt': 'Queue.Arn' },
        resolvedLogicalId: 'Queue',
        kind: 'sqs',
        sqsMessageGroupId: 'g1',
      },
      { id: 'T3', arn: 'arn:aws:lambda:us-east-1:123456789012:function:elsewhere', kind: 'lambda' },
      {
        id: 'T4',
        arn: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':states:::x']] },
        kind: 'other',
      },
      { id: 'T5', arn: { 'Fn::GetAtt': ['Role', 'Arn'] }, resolvedLogicalId: 'Role', kind: 'other' },
    ]);
  });

  it('returns no rules for a template without resources', () => {
    expect(rulesFromTemplate({})).toEqual([]);
    expect(rulesFromTemplate(undefined)).toEqual([]);
  });
});

describe('schedulesFromTemplate', () => {
  it('returns every schedule with its state, defaulting the time zone to UTC', () => {
    expect(schedulesFromTemplate(handmade)).toEqual([
      {
        logicalId: 'Nightly',
        state: 'DISABLED',
        expression: 'rate(1 day)',
        timezone: 'UTC',
        targetArn: { Ref: 'Queue' },
        targetLogicalId: 'Queue',
        targetKind: 'sqs',
        input: 'hello',
      },
    ]);
  });
});

describe('EventRouter', () => {
  const rule = (logicalId: string, state: string, pattern: unknown): TemplateRule => ({
    logicalId,
    state,
    pattern,
    targets: [
      { id: 'A', arn: 'arn:aws:sqs:us-east-1:1:a', kind: 'sqs' },
      { id: 'B', arn: 'arn:aws:sns:us-east-1:1:b', kind: 'sns' },
    ],
  });
  const apiCall = (readOnly: boolean) => ({
    source: 'aws.ecr',
    'detail-type': 'AWS API Call via CloudTrail',
    detail: { eventSource: 'ecr.amazonaws.com', eventName: 'DescribeImages', readOnly },
  });
  const ecrPattern = { source: ['aws.ecr'] };

  it('routes to every target of every matching rule, in order', () => {
    const router = new EventRouter([
      rule('R1', 'ENABLED', ecrPattern),
      rule('R2', 'ENABLED', { source: ['x'] }),
    ]);
    const routed = router.route({ source: 'aws.ecr' });
    expect(routed.map((m) => `${m.rule.logicalId}/${m.target.id}`)).toEqual(['R1/A', 'R1/B']);
  });

  it('never routes through a DISABLED rule', () => {
    const router = new EventRouter([rule('Off', 'DISABLED', ecrPattern)]);
    expect(router.route({ source: 'aws.ecr' })).toEqual([]);
  });

  it('delivers read-only CloudTrail management events only to rules enabled for all management events', () => {
    const router = new EventRouter([
      rule('Plain', 'ENABLED', ecrPattern),
      rule('All', 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS', ecrPattern),
    ]);
    const ids = (event: unknown) => [...new Set(router.route(event).map((m) => m.rule.logicalId))];
    expect(ids(apiCall(true))).toEqual(['All']);
    expect(ids(apiCall(false))).toEqual(['Plain', 'All']);
    expect(ids({ source: 'aws.ecr', 'detail-type': 'ECR Image Action', detail: { readOnly: true } })).toEqual(
      ['Plain', 'All'],
    );
  });

  it('counts events, unmatched events and matches per rule', () => {
    const router = new EventRouter([rule('R1', 'ENABLED', ecrPattern), rule('R2', 'ENABLED', { n: [1] })]);
    router.route({ source: 'aws.ecr' });
    router.route({ source: 'aws.ecr', n: 1 });
    router.route({ source: 'other' });
    expect(router.stats()).toEqual({ events: 3, unmatched: 1, matches: { R1: 2, R2: 1 } });
  });

  it('refuses a rule with an invalid pattern, naming the rule', () => {
    expect(() => new EventRouter([rule('Broken', 'ENABLED', { source: 'aws.ecr' })])).toThrow(/rule Broken/);
  });
});

// ---------------------------------------------------------------------------------- the stack's rules

interface Synthesized {
  router: EventRouter;
  rules: TemplateRule[];
  template: Record<string, unknown>;
  ids: { intake: string; sweep: string; auditQueue: string; scanGate: string };
}

function synthesize(config: StewardConfig): Synthesized {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new EcrStewardStack(app, 'EcrSteward', { config });
  const template = Template.fromStack(stack).toJSON();
  const id = (c: IConstruct) => stack.getLogicalId(c.node.defaultChild as CfnElement);
  const rules = rulesFromTemplate(template);
  return {
    router: new EventRouter(rules),
    rules,
    template,
    ids: {
      intake: id(stack.cleanup.intake.function),
      sweep: id(stack.cleanup.sweep.function),
      auditQueue: id(stack.audit.queue),
      scanGate: id(stack.gate.function.function),
    },
  };
}

/** `kind:logicalId` of every delivery. */
const deliveries = (routed: RouteMatch[]) =>
  routed.map((m) => `${m.target.kind}:${m.target.resolvedLogicalId}`);

function withDetail(file: string, change: (detail: Record<string, unknown>) => void) {
  const event = loadEvent(file);
  change(event.detail);
  return event;
}

/**
 * The AWS sample of a completed replication, as it arrives in the destination registry (top-level region and
 * account are the destination's; ECR user guide, "Amazon ECR events and EventBridge"), with a valid digest.
 */
function replicationEvent(repository: string) {
  return {
    version: '0',
    id: 'c8b133b1-6029-ee73-e2a1-4f466b8ba999',
    'detail-type': 'ECR Replication Action',
    source: 'aws.ecr',
    account: '123456789012',
    time: '2024-05-08T20:44:54Z',
    region: 'us-east-1',
    resources: [`arn:aws:ecr:us-east-1:123456789012:repository/${repository}`],
    detail: {
      result: 'SUCCESS',
      'repository-name': repository,
      'image-digest': `sha256:${'7f5b2640'.repeat(8)}`,
      'source-account': '123456789012',
      'action-type': 'REPLICATE',
      'source-region': 'us-west-2',
      'image-tag': '3.17.2',
    } as Record<string, unknown>,
  };
}

/** The AWS sample of a pull-through cache sync (same page), retargeted to a repository, with a valid digest. */
function pullThroughCacheEvent(repository: string) {
  return {
    version: '0',
    id: '85fc3613-e913-7fc4-a80c-a3753e4aa9ae',
    'detail-type': 'ECR Pull Through Cache Action',
    source: 'aws.ecr',
    account: '123456789012',
    time: '2023-02-28T02:36:48Z',
    region: 'us-west-2',
    resources: [`arn:aws:ecr:us-west-2:123456789012:repository/${repository}`],
    detail: {
      'rule-version': '1',
      'sync-status': 'SUCCESS',
      'ecr-repository-prefix': repository.split('/')[0],
      'repository-name': repository,
      'upstream-registry-url': 'public.ecr.aws',
      'image-tag': '3.17.2',
      'image-digest': `sha256:${'4aa08ef4'.repeat(8)}`,
    } as Record<string, unknown>,
  };
}

describe('the synthesized stack on the local bus', () => {
  const config = parseConfig(readFileSync('examples/steward.config.jsonc', 'utf8'));
  let example: Synthesized;
  let namesOnly: Synthesized;

  beforeAll(() => {
    example = synthesize(config);
    // The example's tag-selected repositories can have any name, so its push rule cannot filter names.
    namesOnly = synthesize({ ...config, selections: config.selections.filter((s) => !s.repositoryTags) });
  });

  it('reads eleven enabled rules with resolved targets and retry settings', () => {
    // Nine of cleanup, audit of deletes and the gate; two of the audit of registry operations (calls, pushes).
    expect(example.rules).toHaveLength(11);
    for (const r of example.rules) {
      expect(r.targets).toHaveLength(1);
      expect(r.targets[0]?.kind).not.toBe('other');
      expect(r.targets[0]?.retryPolicy).toEqual({
        MaximumEventAgeInSeconds: 86400,
        MaximumRetryAttempts: 185,
      });
      expect(r.targets[0]?.deadLetterArn).toEqual({ 'Fn::GetAtt': [expect.any(String), 'Arn'] });
    }
    const lifecycle = example.rules.filter(
      (r) => r.state === 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS',
    );
    expect(lifecycle.map((r) => r.logicalId)).toEqual([expect.stringMatching(/^AuditLifecycleRule/)]);
  });

  it('reads the sweep, due-deletion and quarantine expiry schedules with their targets and inputs', () => {
    expect(schedulesFromTemplate(example.template)).toEqual([
      expect.objectContaining({
        state: 'ENABLED',
        expression: 'cron(0 3 * * ? *)',
        timezone: 'Etc/UTC',
        targetLogicalId: example.ids.sweep,
        targetKind: 'lambda',
        input: '{"kind":"sweep"}',
      }),
      expect.objectContaining({
        state: 'ENABLED',
        expression: 'rate(15 minutes)',
        timezone: 'Etc/UTC',
        targetLogicalId: example.ids.sweep,
        targetKind: 'lambda',
        input: '{"kind":"due"}',
      }),
      expect.objectContaining({
        state: 'ENABLED',
        expression: 'cron(0 3 * * ? *)',
        timezone: 'Etc/UTC',
        targetLogicalId: example.ids.scanGate,
        targetKind: 'lambda',
        input: '{"kind":"quarantine-expiry"}',
      }),
      expect.objectContaining({
        state: 'ENABLED',
        expression: 'cron(0 8 ? * MON *)',
        timezone: 'Etc/UTC',
        targetKind: 'lambda',
        input: '{"kind":"digest","scheduledTime":"<aws.scheduler.scheduled-time>"}',
      }),
    ]);
  });

  describe('ECR Image Action', () => {
    it.each(['services/api', 'web'])(
      'routes a successful PUSH to %s to the cleanup intake and the audit of operations',
      (repository) => {
        expect(deliveries(example.router.route(pushEvent(repository)))).toEqual([
          `lambda:${example.ids.intake}`,
          `sqs:${example.ids.auditQueue}`,
        ]);
        expect(deliveries(namesOnly.router.route(pushEvent(repository)))).toEqual([
          `lambda:${namesOnly.ids.intake}`,
          `sqs:${namesOnly.ids.auditQueue}`,
        ]);
      },
    );

    it('routes a PUSH whose result is FAILED nowhere', () => {
      const event = pushEvent('services/api');
      event.detail.result = 'FAILED';
      expect(example.router.route(event)).toEqual([]);
    });

    it('routes a PUSH to an unmanaged repository only to the audit of operations when the config selects repositories by name only', () => {
      for (const repository of ['other/x', 'services', 'web2', 'Services/api']) {
        expect(deliveries(namesOnly.router.route(pushEvent(repository)))).toEqual([
          `sqs:${namesOnly.ids.auditQueue}`,
        ]);
      }
    });

    it('routes a PUSH to any repository to the intake when a selection is by repository tags', () => {
      // The example config also manages repositories tagged steward=managed: the intake decides by tags.
      expect(deliveries(example.router.route(pushEvent('other/x')))).toEqual([
        `lambda:${example.ids.intake}`,
        `sqs:${example.ids.auditQueue}`,
      ]);
    });

    it('routes a DELETE to the audit queue only', () => {
      const routed = example.router.route(loadEvent('ecr-image-action-delete.json'));
      expect(deliveries(routed)).toEqual([`sqs:${example.ids.auditQueue}`]);
    });

    it('routes an UPDATE_STORAGE_CLASS (archive) to neither cleanup nor audit', () => {
      const routed = deliveries(example.router.route(loadEvent('ecr-image-action-archive.json')));
      expect(routed).not.toContain(`lambda:${example.ids.intake}`);
      expect(routed).not.toContain(`sqs:${example.ids.auditQueue}`);
      expect(routed).toEqual([]);
    });
  });

  describe('ECR Replication Action and ECR Pull Through Cache Action', () => {
    it.each(['services/api', 'web'])(
      'routes a successful replication into %s only to the cleanup intake',
      (repository) => {
        expect(deliveries(example.router.route(replicationEvent(repository)))).toEqual([
          `lambda:${example.ids.intake}`,
        ]);
        expect(deliveries(namesOnly.router.route(replicationEvent(repository)))).toEqual([
          `lambda:${namesOnly.ids.intake}`,
        ]);
      },
    );

    it.each(['services/alpine', 'web'])(
      'routes a successful pull-through cache sync into %s only to the cleanup intake',
      (repository) => {
        expect(deliveries(example.router.route(pullThroughCacheEvent(repository)))).toEqual([
          `lambda:${example.ids.intake}`,
        ]);
        expect(deliveries(namesOnly.router.route(pullThroughCacheEvent(repository)))).toEqual([
          `lambda:${namesOnly.ids.intake}`,
        ]);
      },
    );

    it('routes a failed replication and a failed pull-through cache sync nowhere', () => {
      const replication = replicationEvent('services/api');
      replication.detail.result = 'FAILED';
      const sync = pullThroughCacheEvent('services/alpine');
      sync.detail['sync-status'] = 'FAILED';
      expect(example.router.route(replication)).toEqual([]);
      expect(example.router.route(sync)).toEqual([]);
    });

    it('routes arrivals in unmanaged repositories nowhere when the config selects repositories by name only', () => {
      for (const repository of ['docker-hub/alpine', 'services', 'web2']) {
        expect(namesOnly.router.route(replicationEvent(repository))).toEqual([]);
        expect(namesOnly.router.route(pullThroughCacheEvent(repository))).toEqual([]);
      }
      expect(deliveries(example.router.route(replicationEvent('docker-hub/alpine')))).toEqual([
        `lambda:${example.ids.intake}`,
      ]);
    });

    it('matches the replication and pull-through cache rules only, one each', () => {
      const router = new EventRouter(example.rules);
      router.route(replicationEvent('web'));
      router.route(pullThroughCacheEvent('web'));
      const byRule = Object.entries(router.stats().matches).filter(([, n]) => n > 0);
      expect(byRule).toEqual([
        [expect.stringMatching(/^CleanupReplicationRule/), 1],
        [expect.stringMatching(/^CleanupPullThroughCacheRule/), 1],
      ]);
    });
  });

  describe('CloudTrail', () => {
    it('routes a lifecycle PolicyExecutionEvent (a read-only service event) to the audit queue', () => {
      const routed = example.router.route(loadEvent('eventbridge/cloudtrail-policy-execution-event.json'));
      expect(deliveries(routed)).toEqual([`sqs:${example.ids.auditQueue}`]);
      expect(routed[0]?.rule.state).toBe('ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS');
    });

    it('routes a BatchDeleteImage API call to the audit queue', () => {
      const routed = example.router.route(loadEvent('eventbridge/cloudtrail-batch-delete-image.json'));
      expect(deliveries(routed)).toEqual([`sqs:${example.ids.auditQueue}`]);
    });

    it.each([
      ['cloudtrail-policy-execution-event.json', 'DryRunEvent'],
      ['cloudtrail-policy-execution-event.json', 'BatchDeleteImage'],
      ['cloudtrail-batch-delete-image.json', 'PutImage'],
      ['cloudtrail-batch-delete-image.json', 'PolicyExecutionEvent'],
      ['cloudtrail-batch-delete-image.json', 'DryRunEvent'],
    ])('routes %s with eventName %s nowhere', (file, eventName) => {
      const event = withDetail(`eventbridge/${file}`, (d) => {
        d.eventName = eventName;
      });
      expect(example.router.route(event)).toEqual([]);
    });

    it('routes a BatchDeleteImage record from another service nowhere', () => {
      const event = withDetail('eventbridge/cloudtrail-batch-delete-image.json', (d) => {
        d.eventSource = 'ecr-public.amazonaws.com';
      });
      expect(example.router.route(event)).toEqual([]);
    });
  });

  describe('scans', () => {
    it.each([
      ['an ECR Image Scan COMPLETE', 'eventbridge/ecr-image-scan-complete.json'],
      ['an Inspector2 Scan', 'eventbridge/inspector2-scan.json'],
      ['an Inspector2 Finding on an ECR image', 'eventbridge/inspector2-finding-ecr.json'],
    ])('routes %s to the scan gate only', (_name, file) => {
      expect(deliveries(example.router.route(loadEvent(file)))).toEqual([`lambda:${example.ids.scanGate}`]);
    });

    it('routes an ECR Image Scan FAILED to the scan gate and one still IN_PROGRESS nowhere', () => {
      const failed = withDetail('eventbridge/ecr-image-scan-complete.json', (d) => {
        d['scan-status'] = 'FAILED';
      });
      const inProgress = withDetail('eventbridge/ecr-image-scan-complete.json', (d) => {
        d['scan-status'] = 'IN_PROGRESS';
      });
      expect(deliveries(example.router.route(failed))).toEqual([`lambda:${example.ids.scanGate}`]);
      expect(example.router.route(inProgress)).toEqual([]);
    });

    it('routes an Inspector2 Finding on an EC2 instance nowhere', () => {
      const event = withDetail('eventbridge/inspector2-finding-ecr.json', (d) => {
        d.resources = [{ id: 'i-0123456789abcdef0', type: 'AWS_EC2_INSTANCE' }];
      });
      expect(example.router.route(event)).toEqual([]);
    });
  });

  it('counts what it routed per rule', () => {
    const router = new EventRouter(example.rules);
    router.route(pushEvent('web'));
    router.route(pushEvent('services/api'));
    router.route(loadEvent('ecr-image-action-delete.json'));
    router.route(loadEvent('ecr-image-action-archive.json'));
    const { events, unmatched, matches } = router.stats();
    expect({ events, unmatched }).toEqual({ events: 4, unmatched: 1 });
    const byRule = Object.entries(matches).filter(([, n]) => n > 0);
    expect(byRule).toEqual([
      [expect.stringMatching(/^CleanupPushRule/), 2],
      [expect.stringMatching(/^AuditImageDeleteRule/), 1],
      [expect.stringMatching(/^AuditPushRule/), 2],
    ]);
  });
});
