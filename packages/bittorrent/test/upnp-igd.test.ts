import { describe, expect, it } from 'vitest';
import { findWanService, soapBody, ssdpLocation } from '../src/node/upnp-igd.ts';

describe('UPnP IGD client pieces', () => {
  it('reads the LOCATION of an SSDP answer, and nothing from other datagrams', () => {
    const answer =
      'HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\nLocation: http://192.168.11.1:40123/rootDesc.xml\r\n\r\n';
    expect(ssdpLocation(answer)).toBe('http://192.168.11.1:40123/rootDesc.xml');
    expect(ssdpLocation(answer.replace('200 OK', '404 Not Found'))).toBeUndefined();
    expect(ssdpLocation('NOTIFY * HTTP/1.1\r\nLOCATION: http://x/\r\n\r\n')).toBeUndefined();
    expect(ssdpLocation('HTTP/1.1 200 OK\r\nLOCATION: file:///etc/passwd\r\n\r\n')).toBeUndefined();
  });

  it('finds the WAN connection service (IP before PPP) and resolves its control URL', () => {
    const xml = `<?xml version="1.0"?><root><device><serviceList>
      <service><serviceType>urn:schemas-upnp-org:service:Layer3Forwarding:1</serviceType><controlURL>/ctl/L3F</controlURL></service>
      <service><serviceType>urn:schemas-upnp-org:service:WANPPPConnection:1</serviceType><controlURL>/ctl/PPP</controlURL></service>
      <service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType><controlURL>/ctl/IPConn</controlURL></service>
      </serviceList></device></root>`;
    expect(findWanService(xml, 'http://192.168.11.1:40123/rootDesc.xml')).toEqual({
      controlUrl: 'http://192.168.11.1:40123/ctl/IPConn',
      serviceType: 'urn:schemas-upnp-org:service:WANIPConnection:1',
    });
    const based = `<root><URLBase>http://10.0.0.1:5000/</URLBase><service><serviceType>urn:schemas-upnp-org:service:WANPPPConnection:1</serviceType><controlURL>ppp</controlURL></service></root>`;
    expect(findWanService(based, 'http://10.0.0.1:1/desc.xml')?.controlUrl).toBe('http://10.0.0.1:5000/ppp');
    expect(findWanService('<root></root>', 'http://x/')).toBeUndefined();
  });

  it('builds a SOAP body with the arguments in order, escaped', () => {
    const body = soapBody('urn:schemas-upnp-org:service:WANIPConnection:1', 'AddPortMapping', [
      ['NewExternalPort', 6881],
      ['NewPortMappingDescription', 'a<b&"c"'],
    ]);
    expect(body).toContain(
      '<u:AddPortMapping xmlns:u="urn:schemas-upnp-org:service:WANIPConnection:1"><NewExternalPort>6881</NewExternalPort><NewPortMappingDescription>a&#60;b&#38;&#34;c&#34;</NewPortMappingDescription></u:AddPortMapping>',
    );
  });
});
