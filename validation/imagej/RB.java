// The ImageJ reference for adpharm.assays.rolling_ball: ImageJ's own rolling-ball background
// (BackgroundSubtracter.rollingBallBackground, the code behind Process > Subtract Background with
// "Create background") written out as text, one image row per line.
//
// Usage: java -cp ij.jar:. RB in.tif radius light(0|1) presmooth(0|1) out.txt
// The image is converted to 32-bit first, so that the background is not rounded to integers.
import ij.ImagePlus;
import ij.plugin.filter.BackgroundSubtracter;
import ij.process.ImageProcessor;
import java.io.FileWriter;
import java.io.PrintWriter;

public class RB {
    public static void main(String[] a) throws Exception {
        ImageProcessor ip = new ImagePlus(a[0]).getProcessor().convertToFloat();
        double radius = Double.parseDouble(a[1]);
        boolean light = a[2].equals("1"), presmooth = a[3].equals("1");
        // arguments: radius, createBackground, lightBackground, useParaboloid, doPresmooth, correctCorners
        new BackgroundSubtracter().rollingBallBackground(ip, radius, true, light, false, presmooth, true);
        try (PrintWriter w = new PrintWriter(new FileWriter(a[4]))) {
            for (int y = 0; y < ip.getHeight(); y++) {
                StringBuilder row = new StringBuilder();
                for (int x = 0; x < ip.getWidth(); x++) {
                    if (x > 0) row.append(' ');
                    row.append(ip.getPixelValue(x, y));
                }
                w.println(row);
            }
        }
    }
}
