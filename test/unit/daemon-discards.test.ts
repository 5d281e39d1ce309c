import { describe, expect, test } from 'vitest';
import { DiscardTracker } from '../../src/daemon/discards.js';

describe('discard tracking', () => {
  test('counts by reason, per topic with client timestamps and the rate-limited share, recent bad topics and malformed prefixes', () => {
    let now = 1_000_000;
    const tracker = new DiscardTracker({ intervalMs: 600_000, recent: 2, prefixBytes: 3, now: () => now });
    tracker.malformed(Buffer.from([1, 2, 3, 4, 5]));
    tracker.badTopic('bad one');
    tracker.badTopic('');
    tracker.badTopic('bad three');
    tracker.refused('unsupportedApiKey');
    tracker.refused('streamDisconnect');
    tracker.topicDiscard('topic_2', 'rateLimited', 1_465_525_295_832, 853);
    tracker.topicDiscard('topic_2', 'deliveryFailed', 1_465_525_287_266);
    tracker.topicDiscard('topic_1', 'tooLarge', 1_465_525_290_000);
    now += 1000;
    const report = tracker.report();
    expect(report.current.counts).toMatchObject({
      malformed: 1,
      badTopic: 3,
      unsupportedApiKey: 1,
      streamDisconnect: 1,
      rateLimited: 853,
      deliveryFailed: 1,
      tooLarge: 1,
      unsupportedVersion: 0,
    });
    expect(report.current.recentBadTopics).toEqual(['bad three', '']);
    expect(report.current.recentMalformed).toEqual([Buffer.from([1, 2, 3]).toString('base64')]);
    expect(report.current.topics).toEqual({
      topic_2: { count: 854, rateLimited: 853, begin: 1_465_525_287_266, end: 1_465_525_295_832 },
      topic_1: { count: 1, rateLimited: 0, begin: 1_465_525_290_000, end: 1_465_525_290_000 },
    });
    expect(tracker.total).toBe(1 + 3 + 1 + 1 + 853 + 1 + 1);
    expect(report.latest).toBeUndefined();
  });

  test('reporting periods: the current one and the latest finished, numbered from the start; totals go on', () => {
    let now = 0;
    const tracker = new DiscardTracker({ intervalMs: 100, now: () => now });
    tracker.refused('tcpDisconnect');
    now = 150;
    tracker.refused('tcpDisconnect');
    tracker.refused('tcpDisconnect');
    let report = tracker.report();
    expect([report.latest?.id, report.latest?.counts.tcpDisconnect, report.current.id, report.current.start]).toEqual([0, 1, 1, 100]);
    expect(report.current.counts.tcpDisconnect).toBe(2);
    // Three periods pass with nothing in them: the latest finished one is empty.
    now = 470;
    report = tracker.report();
    expect([report.latest?.id, report.latest?.counts.tcpDisconnect, report.current.id, report.current.start]).toEqual([3, 0, 4, 400]);
    expect(report.totals.tcpDisconnect).toBe(3);
  });
});
