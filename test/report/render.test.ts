import { describe, expect, it } from 'vitest';
import { renderMarkdown, renderReport, renderTable } from '../../functions/shared/report/index.js';
import { fixtureReport } from './fixture.js';

describe('renderTable', () => {
  it('prints the repositories, the totals, the summary, the principals and the largest images when every source was read', () => {
    // Prepare
    const report = fixtureReport();
    // Act
    const text = renderTable(report);
    // Assess
    const expected = [
      'ECR registry 123456789012 in us-east-1: all 2 repositories, 2026-12-06T12:00:00.000Z',
      '',
      'repository    images  standard   archive   reclaimable  cost/month  never pulled   untagged  gate pass/fail/pend/none     reclaimed',
      '------------  ------  --------  --------  ------------  ----------  ------------  ---------  ------------------------  ------------',
      'services/api       4   572 MiB  47.7 MiB  95.4 MiB (1)       $0.06             1  1 (25.0%)  1/1/0/2                   47.7 MiB (2)',
      'tools/ci           2  9.54 MiB       0 B             —       $0.00             1   0 (0.0%)  0/0/0/2                   4.77 MiB (1)',
      'total (2)          6   582 MiB  47.7 MiB  95.4 MiB (1)       $0.06             2  1 (16.7%)  1/1/0/4                   52.5 MiB (3)',
      '',
      'Prices: standard $0.10 and archive $0.10 per GB-month (built-in, aws.amazon.com/ecr/pricing)',
      'Current plan: would expire 1 image (95.4 MiB, $0.01 a month) and archive 0 B; 1 repository without a plan',
      'Last pull: 0–7 days 1 · 8–30 days 1 · 31–90 days 1 · > 90 days 1 · never 2',
      'Untagged: 1 of 6 images (16.7%)',
      'Gate verdicts: PASS 1 · FAIL 1 · PENDING 0 · unscanned 4',
      'Reclaimed since 2026-11-29T12:00:00.000Z: 3 deletes, 52.5 MiB',
      '',
      'Deletes by principal:',
      'principal                             deletes     bytes',
      '------------------------------------  -------  --------',
      'ECR Steward                                 1  38.1 MiB',
      'arn:aws:iam::123456789012:user/alice        2  14.3 MiB',
      '',
      'Largest images:',
      '    size  repository    tags        digest                storage   pushed      last pulled',
      '--------  ------------  ----------  --------------------  --------  ----------  -----------',
      ' 286 MiB  services/api  v2          sha256:aaaaaaaaaaaa…  standard  2026-12-01  2026-12-05',
      ' 191 MiB  services/api  v1          sha256:bbbbbbbbbbbb…  standard  2026-10-01  2026-11-01',
      '95.4 MiB  services/api  <untagged>  sha256:cccccccccccc…  standard  2026-09-01  never',
      '47.7 MiB  services/api  old         sha256:dddddddddddd…  archive   2026-01-01  2026-06-01',
      '9.54 MiB  tools/ci      latest      sha256:eeeeeeeeeeee…  standard  2026-11-01  2026-11-20',
    ].join('\n');
    expect(text).toBe(`${expected}\n`);
  });

  it('says "not available" for verdicts, deletions and prices when they could not be read', () => {
    // Prepare
    const report = fixtureReport({
      region: 'cn-north-1',
      price: undefined,
      verdictsUnavailable: 'no verdict table: pass --verdict-table or set VERDICT_TABLE_NAME',
      audit: { unavailable: 'no audit table: pass --audit-table or set AUDIT_TABLE_NAME' },
      warnings: ['1 repository was deleted while the report read it; left out'],
    });
    // Act
    const lines = renderTable(report).split('\n');
    // Assess
    expect(lines).toContain(
      'Prices: no built-in ECR price for cn-north-1: set report.prices["cn-north-1"] in the config',
    );
    expect(lines).toContain(
      'Gate verdicts: not available (no verdict table: pass --verdict-table or set VERDICT_TABLE_NAME)',
    );
    expect(lines).toContain(
      'Reclaimed: not available (no audit table: pass --audit-table or set AUDIT_TABLE_NAME)',
    );
    expect(lines).not.toContain('Deletes by principal:');
    expect(lines.slice(-3)).toEqual([
      'Warnings:',
      '  1 repository was deleted while the report read it; left out',
      '',
    ]);
    expect(lines[4]).toBe(
      'services/api       4   572 MiB  47.7 MiB  95.4 MiB (1)         n/a             1  1 (25.0%)  —                                 —',
    );
  });
});

describe('renderMarkdown', () => {
  it('prints the same figures as Markdown tables and a list when every source was read', () => {
    // Prepare
    const report = fixtureReport();
    // Act
    const text = renderMarkdown(report);
    // Assess
    const expected = [
      '# ECR registry 123456789012 in us-east-1: all 2 repositories, 2026-12-06T12:00:00.000Z',
      '',
      '| repository | images | standard | archive | reclaimable | cost/month | never pulled | untagged | gate pass/fail/pend/none | reclaimed |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
      '| services/api | 4 | 572 MiB | 47.7 MiB | 95.4 MiB (1) | $0.06 | 1 | 1 (25.0%) | 1/1/0/2 | 47.7 MiB (2) |',
      '| tools/ci | 2 | 9.54 MiB | 0 B | — | $0.00 | 1 | 0 (0.0%) | 0/0/0/2 | 4.77 MiB (1) |',
      '| **total (2)** | **6** | **582 MiB** | **47.7 MiB** | **95.4 MiB (1)** | **$0.06** | **2** | **1 (16.7%)** | **1/1/0/4** | **52.5 MiB (3)** |',
      '',
      '- Prices: standard $0.10 and archive $0.10 per GB-month (built-in, aws.amazon.com/ecr/pricing)',
      '- Current plan: would expire 1 image (95.4 MiB, $0.01 a month) and archive 0 B; 1 repository without a plan',
      '- Last pull: 0–7 days 1 · 8–30 days 1 · 31–90 days 1 · &gt; 90 days 1 · never 2',
      '- Untagged: 1 of 6 images (16.7%)',
      '- Gate verdicts: PASS 1 · FAIL 1 · PENDING 0 · unscanned 4',
      '- Reclaimed since 2026-11-29T12:00:00.000Z: 3 deletes, 52.5 MiB',
      '',
      '## Deletes by principal',
      '',
      '| principal | deletes | bytes |',
      '| --- | --- | --- |',
      '| ECR Steward | 1 | 38.1 MiB |',
      '| arn:aws:iam::123456789012:user/alice | 2 | 14.3 MiB |',
      '',
      '## Largest images',
      '',
      '| size | repository | tags | digest | storage | pushed | last pulled |',
      '| --- | --- | --- | --- | --- | --- | --- |',
      '| 286 MiB | services/api | v2 | sha256:aaaaaaaaaaaa… | standard | 2026-12-01 | 2026-12-05 |',
      '| 191 MiB | services/api | v1 | sha256:bbbbbbbbbbbb… | standard | 2026-10-01 | 2026-11-01 |',
      '| 95.4 MiB | services/api | &lt;untagged&gt; | sha256:cccccccccccc… | standard | 2026-09-01 | never |',
      '| 47.7 MiB | services/api | old | sha256:dddddddddddd… | archive | 2026-01-01 | 2026-06-01 |',
      '| 9.54 MiB | tools/ci | latest | sha256:eeeeeeeeeeee… | standard | 2026-11-01 | 2026-11-20 |',
    ].join('\n');
    expect(text).toBe(`${expected}\n`);
  });

  it('escapes pipes and markup in a principal so a cell can neither split the table nor inject HTML', () => {
    // Prepare
    const report = fixtureReport({
      audit: {
        since: '2026-11-29T12:00:00.000Z',
        deletes: 1,
        bytes: 1,
        byPrincipal: [{ principal: 'a|b<script>alert(1)</script>', deletes: 1, bytes: 1 }],
        byDay: [],
        byRepository: {},
      },
    });
    // Act
    const text = renderMarkdown(report);
    // Assess
    expect(text).toContain('| a\\|b&lt;script&gt;alert(1)&lt;/script&gt; | 1 | 1 B |');
    expect(text).not.toContain('<script>');
  });
});

describe('renderReport', () => {
  it('prints the report itself as JSON when the format is json', () => {
    // Prepare
    const report = fixtureReport();
    // Act
    const text = renderReport(report, 'json');
    // Assess
    expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(report)));
    expect(text.endsWith('}\n')).toBe(true);
  });
});
